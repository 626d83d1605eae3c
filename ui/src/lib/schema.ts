// A template's answers schema (see the manager's catalogue: JSON Schema 2020-12 with `x-order`,
// `x-when`, `x-default-template`, `x-validator`) turned into the questions of a form, and the
// checks the form runs before it submits.
import { condition, render, validatorMessage } from './jinja';

export type FieldKind = 'string' | 'integer' | 'number' | 'boolean' | 'choice' | 'multichoice' | 'json';

export interface Choice {
  value: unknown;
  label: string;
  /** The choice's own validator (copier's extended choice): what it renders to disables it. */
  validator?: string;
}

export interface Field {
  name: string;
  kind: FieldKind;
  label: string;
  help: string;
  required: boolean;
  default: unknown;
  /** A default that depends on other answers (Jinja source). */
  defaultTemplate?: string;
  placeholder?: string;
  choices: Choice[];
  pattern?: string;
  /** What the pattern means, in words (`x-pattern-message`, e.g. from a template's naming rule). */
  patternMessage?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  secret: boolean;
  /** Asked only when this Jinja condition holds. */
  when?: string;
  /** The template's own validator (Jinja; run here too when `jinja.ts` can read it). */
  validator?: string;
}

type JsonSchema = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

function choicesOf(s: JsonSchema): Choice[] {
  if (Array.isArray(s.enum)) return s.enum.map((v: unknown) => ({ value: v, label: String(v) }));
  if (Array.isArray(s.oneOf)) {
    return (s.oneOf as JsonSchema[])
      .filter((o) => o && 'const' in o)
      .map((o) => ({ value: o.const, label: str(o.title) ?? String(o.const), validator: str(o['x-validator']) }));
  }
  return [];
}

/** Longest help that is the label itself, and longest opening of a help that is one. */
const LABEL_CHARS = 60;
const OPENING_CHARS = 48;

/**
 * A question's label and help as a person reads them: its title; else its help when that is
 * short ("Add a Dockerfile and a compose.yaml?"); else the opening of its help when that is
 * ("Project name (lowercase letters, ...)" -> "Project name", the rest the help); else its name in
 * words ("postgres_version" -> "Postgres version").
 */
export function readable(name: string, title?: string, description?: string): { label: string; help: string } {
  const help = (description ?? '').trim();
  if (title) return { label: title, help };
  if (help && help.length <= LABEL_CHARS && !help.includes('\n')) return { label: help.replace(/\.$/, ''), help: '' };
  const opening = /^(.+?)(?: \(|\. |: )(.*)$/s.exec(help);
  if (opening && opening[1]!.length <= OPENING_CHARS) {
    let rest = opening[2]!.trim();
    if (help.slice(opening[1]!.length).startsWith(' (') && rest.endsWith(')')) rest = rest.slice(0, -1);
    return { label: opening[1]!, help: rest ? rest[0]!.toUpperCase() + rest.slice(1) : '' };
  }
  const words = name.replace(/[_-]+/g, ' ').trim();
  return { label: words ? words[0]!.toUpperCase() + words.slice(1) : name, help };
}

/** The questions of an answers schema, in `x-order` (then property order). */
export function fieldsOf(schemaJson: string): Field[] {
  const schema = JSON.parse(schemaJson) as JsonSchema;
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  const order = Array.isArray(schema['x-order']) ? (schema['x-order'] as string[]) : [];
  const names = [...order.filter((n) => n in props), ...Object.keys(props).filter((n) => !order.includes(n))];
  return names.map((name) => {
    const p = props[name] ?? {};
    const items = (p.items ?? {}) as JsonSchema;
    let kind: FieldKind;
    let choices = choicesOf(p);
    if (p.type === 'array' && (Array.isArray(items.enum) || Array.isArray(items.oneOf))) {
      kind = 'multichoice';
      choices = choicesOf(items);
    } else if (choices.length > 0) kind = 'choice';
    else if (p.type === 'boolean') kind = 'boolean';
    else if (p.type === 'integer') kind = 'integer';
    else if (p.type === 'number') kind = 'number';
    else if (p.type === 'string') kind = 'string';
    else kind = 'json';
    const examples = Array.isArray(p.examples) ? p.examples : [];
    return {
      name,
      kind,
      ...readable(name, str(p.title), str(p.description)),
      // A conditional question is not in `required` (it may not be asked); asked, it needs an
      // answer unless it has a default.
      required: required.has(name) || (typeof p['x-when'] === 'string' && !('default' in p) && !('x-default-template' in p)),
      default: p.default,
      defaultTemplate: str(p['x-default-template']),
      placeholder: examples.length > 0 ? String(examples[0]) : undefined,
      choices,
      pattern: str(p.pattern),
      patternMessage: str(p['x-pattern-message']),
      minLength: num(p.minLength),
      maxLength: num(p.maxLength),
      minimum: num(p.minimum),
      maximum: num(p.maximum),
      secret: p.writeOnly === true || p.format === 'password',
      when: str(p['x-when']),
      validator: str(p['x-validator']),
    };
  });
}

/** What the form holds per question: text for text inputs, booleans, arrays for multichoice. */
export type FormValue = string | boolean | string[];
export type FormValues = Record<string, FormValue>;

/** Index of a choice's value as the form holds it (select options are strings). */
const choiceKey = (field: Field, value: unknown) => String(field.choices.findIndex((c) => c.value === value));

/** The form's starting values: the schema's defaults. */
export function initialValues(fields: Field[]): FormValues {
  const values: FormValues = {};
  for (const f of fields) {
    if (f.kind === 'boolean') values[f.name] = f.default === true;
    else if (f.kind === 'choice') values[f.name] = f.default === undefined ? '' : choiceKey(f, f.default);
    else if (f.kind === 'multichoice')
      values[f.name] = Array.isArray(f.default) ? f.default.map((v) => choiceKey(f, v)) : [];
    else if (f.kind === 'json') values[f.name] = f.default === undefined ? '' : JSON.stringify(f.default);
    else values[f.name] = f.default === undefined || f.default === null ? '' : String(f.default);
  }
  return values;
}

/**
 * The form's values for answers already given (a payload being edited): each question holds its
 * given value, or its default when the answers leave it out.
 */
export function valuesOf(fields: Field[], given: Record<string, unknown>): FormValues {
  const values = initialValues(fields);
  for (const f of fields) {
    if (!Object.hasOwn(given, f.name) || given[f.name] === undefined) continue;
    const v = given[f.name];
    if (f.kind === 'boolean') values[f.name] = v === true;
    else if (f.kind === 'choice') values[f.name] = choiceKey(f, v);
    else if (f.kind === 'multichoice') values[f.name] = Array.isArray(v) ? v.map((x) => choiceKey(f, x)) : [];
    else if (f.kind === 'json' || (typeof v === 'object' && v !== null)) values[f.name] = JSON.stringify(v);
    else values[f.name] = v === null ? '' : String(v);
  }
  return values;
}

/** A value as its question's type, or undefined when blank (left to the template's default). */
function typed(field: Field, raw: FormValue | undefined): unknown {
  switch (field.kind) {
    case 'boolean':
      return raw === true;
    case 'choice':
      return raw === '' || raw === undefined ? undefined : field.choices[Number(raw)]?.value;
    case 'multichoice':
      return Array.isArray(raw) ? raw.map((k) => field.choices[Number(k)]?.value) : [];
    case 'integer':
    case 'number':
      return typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : undefined;
    case 'json':
      if (typeof raw !== 'string' || raw.trim() === '') return undefined;
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        return raw;
      }
    default:
      return typeof raw === 'string' && raw !== '' ? raw : undefined;
  }
}

/**
 * The answers as the template sees them so far (typed; defaults filled in, computed ones rendered
 * when possible): the scope `x-when` and `x-default-template` are evaluated in.
 */
export function answersScope(fields: Field[], values: FormValues): Record<string, unknown> {
  const scope: Record<string, unknown> = {};
  for (const f of fields) {
    let v = typed(f, values[f.name]);
    if (v === undefined && f.defaultTemplate) v = render(f.defaultTemplate, scope);
    if (v === undefined) v = f.default;
    scope[f.name] = v ?? (f.kind === 'string' ? '' : null);
  }
  return scope;
}

/** Whether a question is asked, given the answers so far (unknown conditions: asked). */
export function isAsked(field: Field, scope: Record<string, unknown>): boolean {
  if (!field.when) return true;
  return condition(field.when, scope) ?? true;
}

const isBlank = (raw: FormValue | undefined) => raw === undefined || raw === '' || (Array.isArray(raw) && raw.length === 0);

/** What is wrong with one answer, in words, or null. */
export function problemWith(field: Field, raw: FormValue | undefined): string | null {
  if (isBlank(raw)) return field.required && field.kind !== 'boolean' ? `${field.label} is required.` : null;
  const v = typed(field, raw);
  if (field.kind === 'integer' || field.kind === 'number') {
    if (typeof v !== 'number' || Number.isNaN(v)) return `${field.label} must be a number.`;
    if (field.kind === 'integer' && !Number.isInteger(v)) return `${field.label} must be a whole number.`;
    if (field.minimum !== undefined && v < field.minimum) return `${field.label} must be at least ${field.minimum}.`;
    if (field.maximum !== undefined && v > field.maximum) return `${field.label} must be at most ${field.maximum}.`;
  }
  if (field.kind === 'choice' && v === undefined) return `${field.label} must be one of the choices.`;
  if (field.kind === 'multichoice' && Array.isArray(v) && v.some((x) => x === undefined))
    return `${field.label} must be among the choices.`;
  if (field.kind === 'json' && typeof raw === 'string') {
    try {
      JSON.parse(raw);
    } catch (err) {
      return `${field.label} is not valid JSON (${err instanceof Error ? err.message : String(err)}).`;
    }
  }
  if (field.kind === 'string' && typeof v === 'string') {
    if (field.minLength !== undefined && [...v].length < field.minLength)
      return `${field.label} must be at least ${field.minLength} characters long.`;
    if (field.maxLength !== undefined && [...v].length > field.maxLength)
      return `${field.label} must be at most ${field.maxLength} characters long.`;
    if (field.pattern !== undefined) {
      let re: RegExp | null = null;
      try {
        re = new RegExp(field.pattern, 'u');
      } catch {
        re = null; // A pattern JavaScript cannot read is left to the server.
      }
      if (re && !re.test(v)) {
        return field.patternMessage
          ? `${field.label} must be ${field.patternMessage}.`
          : `${field.label} must match ${field.pattern}.`;
      }
    }
  }
  return null;
}

/** The value a blank question takes from its computed default, when that can be worked out here. */
function derived(field: Field, raw: FormValue | undefined, scope: Record<string, unknown>): 'given' | 'derived' | 'unknown' {
  if (!isBlank(raw) || !field.defaultTemplate) return 'given';
  return render(field.defaultTemplate, scope) === undefined ? 'unknown' : 'derived';
}

/** What the chosen choices' own validators say (copier disables such a choice), or null. */
function disabledChoice(field: Field, raw: FormValue | undefined, scope: Record<string, unknown>): string | null {
  const keys = Array.isArray(raw) ? raw : typeof raw === 'string' && raw !== '' ? [raw] : [];
  for (const key of keys) {
    const choice = field.choices[Number(key)];
    if (!choice?.validator) continue;
    const message = validatorMessage(choice.validator, scope);
    if (message) return `“${choice.label}” cannot be chosen: ${sentence(message)}`;
  }
  return null;
}

/**
 * Problems of every asked question, by name (empty when the form can be submitted): the schema's
 * rules, the chosen choices' validators, then the pattern and the template's own validator on the
 * value the bootstrapper would check (a blank question's computed default included, unless the
 * answer it comes from is wrong itself). A blank secret's default is not checked (copier does
 * not check it).
 */
export function validate(fields: Field[], values: FormValues): Record<string, string> {
  const scope = answersScope(fields, values);
  const problems: Record<string, string> = {};
  for (const f of fields) {
    if (!isAsked(f, scope)) continue;
    const p = problemWith(f, values[f.name]) ?? disabledChoice(f, values[f.name], scope);
    if (p) problems[f.name] = p;
  }
  for (const f of fields) {
    if (problems[f.name] || !isAsked(f, scope)) continue;
    const from = derived(f, values[f.name], scope);
    if (from !== 'derived') continue;
    if (fields.some((o) => o !== f && problems[o.name] && f.defaultTemplate?.includes(o.name))) continue;
    const made = ` (its default, made from the other answers, is “${String(scope[f.name])}”).`;
    const p = problemWith(f, String(scope[f.name]));
    if (p) problems[f.name] = p.replace(/\.$/, made);
  }
  for (const f of fields) {
    if (!f.validator || problems[f.name] || !isAsked(f, scope)) continue;
    if (f.secret && isBlank(values[f.name])) continue;
    const from = derived(f, values[f.name], scope);
    if (from === 'unknown') continue;
    if (from === 'derived' && fields.some((o) => o !== f && problems[o.name] && f.defaultTemplate?.includes(o.name))) continue;
    const message = validatorMessage(f.validator, scope);
    if (!message) continue;
    problems[f.name] =
      from === 'derived' ? `${message} (its default, made from the other answers, is “${String(scope[f.name])}”).` : sentence(message);
  }
  return problems;
}

const sentence = (s: string) => (/[.!?]$/.test(s) ? s : `${s}.`);

/**
 * A valid answer close to what was typed, for a text question the form finds wrong ("My Shop" ->
 * "my-shop", or "my_shop" where only underscores pass): lower case, accents dropped, every run of
 * other characters one separator, no separator or digit first, none last. Null when no such
 * answer passes the question's checks (or nothing is typed).
 */
export function suggestion(fields: Field[], values: FormValues, name: string): string | null {
  const field = fields.find((f) => f.name === name);
  const raw = values[name];
  if (!field || field.kind !== 'string' || typeof raw !== 'string' || raw.trim() === '') return null;
  if (!validate(fields, values)[name]) return null;
  const base = raw.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  for (const sep of ['-', '_']) {
    const candidate = base
      .replace(/[^a-z0-9]+/g, sep)
      .replace(/^[^a-z]+/, '')
      .replace(new RegExp(`\\${sep}+$`), '');
    if (candidate && candidate !== raw && !validate(fields, { ...values, [name]: candidate })[name]) return candidate;
  }
  return null;
}

/** The answers object to send: asked questions only; blanks left out so template defaults apply. */
export function answersOf(fields: Field[], values: FormValues): Record<string, unknown> {
  const scope = answersScope(fields, values);
  const answers: Record<string, unknown> = {};
  for (const f of fields) {
    if (!isAsked(f, scope)) continue;
    const v = typed(f, values[f.name]);
    if (v !== undefined) answers[f.name] = v;
  }
  return answers;
}
