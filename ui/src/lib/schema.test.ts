import { describe, expect, it } from 'vitest';
import { answersOf, fieldsOf, problemWith, readable, valuesOf } from './schema';

const fields = fieldsOf(
  JSON.stringify({
    type: 'object',
    properties: {
      template: { type: 'string' },
      answers: { type: 'object', default: {} },
      database: { type: 'string', enum: ['none', 'sqlite'], default: 'none' },
      workers: { type: 'integer', default: 2 },
      checks: { type: 'boolean', default: true },
    },
  }),
);

describe('a payload in a form', () => {
  it('fills each question from the answers given, the defaults for the rest, and reads back the same', () => {
    const given = { template: 'fastapi', answers: { project_name: 'shop' }, database: 'sqlite' };
    const values = valuesOf(fields, given);
    expect(values).toEqual({
      template: 'fastapi',
      answers: '{"project_name":"shop"}',
      database: '1',
      workers: '2',
      checks: true,
    });
    expect(answersOf(fields, values)).toEqual({ ...given, workers: 2, checks: true });
  });

  it('says when a JSON answer is not JSON', () => {
    const answers = fields.find((f) => f.name === 'answers')!;
    expect(problemWith(answers, '{"project_name": ')).toMatch(/^Answers is not valid JSON \(/);
    expect(problemWith(answers, '{"project_name": "shop"}')).toBeNull();
  });
});

describe('a naming rule from the template', () => {
  it('says what the name must be in words, not as a pattern', () => {
    const named = fieldsOf(
      JSON.stringify({
        type: 'object',
        properties: {
          package_name: {
            type: 'string',
            pattern: '^[a-z_][a-z0-9_]*$',
            'x-name-rule': 'python-package',
            'x-pattern-message': 'a Python package name: lowercase letters, digits and _, not starting with a digit',
          },
          slug: { type: 'string', pattern: '^[a-z]+$' },
        },
      }),
    );
    const pkg = named.find((f) => f.name === 'package_name')!;
    const plain = named.find((f) => f.name === 'slug')!;
    expect(problemWith(pkg, 'My Shop')).toBe(
      'Package name must be a Python package name: lowercase letters, digits and _, not starting with a digit.',
    );
    expect(problemWith(pkg, 'my_shop')).toBeNull();
    expect(problemWith(plain, 'A')).toBe('Slug must match ^[a-z]+$.');
  });
});

describe('readable', () => {
  it('makes a label of a title, a short help, the opening of a long one, or the name in words', () => {
    expect(readable('q', 'Given title', 'Its help')).toEqual({ label: 'Given title', help: 'Its help' });
    expect(readable('docker', undefined, 'Add a Dockerfile (gunicorn) and a compose.yaml?')).toEqual({
      label: 'Add a Dockerfile (gunicorn) and a compose.yaml?',
      help: '',
    });
    expect(readable('project_name', undefined, 'Project name (lowercase letters, digits and hyphens; starts with a letter)')).toEqual({
      label: 'Project name',
      help: 'Lowercase letters, digits and hyphens; starts with a letter',
    });
    expect(readable('postgres_version', undefined, undefined)).toEqual({ label: 'Postgres version', help: '' });
    const long = 'A very long help text that goes on and on without any place to cut it short for a label at all';
    expect(readable('app_name', undefined, long)).toEqual({ label: 'App name', help: long });
  });
});
