import { describe, expect, it } from 'vitest';
import { validatorMessage } from './jinja';

// The fastapi template's validators as the manager serves them (copier.yml, folded by YAML).
const PROJECT =
  "{%- if project_name|length == 0 -%} project_name is required {%- elif (project_name | regex_search('^[a-z0-9-]+$')) is none -%} project_name may only contain lowercase letters, digits and hyphens {%- elif project_name[:1] not in 'abcdefghijklmnopqrstuvwxyz' -%} project_name must start with a lowercase letter {%- elif project_name|length > 40 -%} project_name must be at most 40 characters long {%- elif project_name[-1:] == '-' or '--' in project_name -%} project_name must not end with a hyphen or contain two hyphens in a row {%- endif -%}";
const PACKAGE =
  "{%- if package_name|length == 0 -%} package_name is required {%- elif package_name in ['and', 'as', 'class'] -%} package_name must not be a Python keyword {%- elif package_name in ['fastapi', 'tests'] -%} package_name must not shadow a module the project uses ({{ package_name }}) {%- endif -%}";

describe("a template's validator, run in the form", () => {
  it.each([
    ['shop', ''],
    ['my-shop', ''],
    ['', 'project_name is required'],
    ['My Shop', 'project_name may only contain lowercase letters, digits and hyphens'],
    ['Shop', 'project_name may only contain lowercase letters, digits and hyphens'],
    ['1shop', 'project_name must start with a lowercase letter'],
    ['a'.repeat(41), 'project_name must be at most 40 characters long'],
    ['shop-', 'project_name must not end with a hyphen or contain two hyphens in a row'],
    ['my--shop', 'project_name must not end with a hyphen or contain two hyphens in a row'],
  ])('project_name %j: %j', (value, message) => {
    expect(validatorMessage(PROJECT, { project_name: value })).toBe(message);
  });

  it('renders the answers named in its message', () => {
    expect(validatorMessage(PACKAGE, { package_name: 'tests' })).toBe(
      'package_name must not shadow a module the project uses (tests)',
    );
    expect(validatorMessage(PACKAGE, { package_name: 'class' })).toBe('package_name must not be a Python keyword');
    expect(validatorMessage(PACKAGE, { package_name: 'shop' })).toBe('');
  });

  it('gives up (undefined) on what it cannot read, leaving the check to the bootstrapper', () => {
    expect(validatorMessage('{% for x in y %}{% endfor %}', { y: [] })).toBeUndefined();
    expect(validatorMessage("{{ name | regex_search('(?P<a>x)') }}", { name: 'x' })).toBeUndefined();
    expect(validatorMessage('{% if unknown %}bad{% endif %}', {})).toBeUndefined();
    expect(validatorMessage('{% if x %}never closed', { x: true })).toBeUndefined();
  });
});
