// Just enough of Jinja's expression language to follow a template's questions in the form:
// `x-when` conditions (e.g. "{{ database == 'postgres' and docker }}") and simple
// `x-default-template` defaults (e.g. "{{ project_name|replace('-', '_') }}"). Anything it does not
// understand yields `undefined`, and the caller falls back (shows the question; leaves the default
// to the bootstrapper, which renders it with real Jinja).

type Value = string | number | boolean | null | undefined | Value[] | { [k: string]: Value };
type Scope = Record<string, unknown>;

class Unsupported extends Error {}

type Token = { kind: 'str' | 'num' | 'name' | 'op'; text: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|[<>()[\]|,~+-]))/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new Unsupported(src.slice(pos));
    pos = re.lastIndex;
    if (m[1] !== undefined) tokens.push({ kind: 'str', text: m[1].slice(1, -1).replace(/\\(.)/g, '$1') });
    else if (m[2] !== undefined) tokens.push({ kind: 'num', text: m[2] });
    else if (m[3] !== undefined) tokens.push({ kind: 'name', text: m[3] });
    else if (m[4] !== undefined) tokens.push({ kind: 'op', text: m[4] });
  }
  return tokens;
}

function truthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (v && typeof v === 'object') return Object.keys(v).length > 0;
  return Boolean(v);
}

class Parser {
  private i = 0;
  private readonly tokens: Token[];
  private readonly scope: Scope;

  constructor(tokens: Token[], scope: Scope) {
    this.tokens = tokens;
    this.scope = scope;
  }

  parseAll(): unknown {
    const v = this.or();
    if (this.i !== this.tokens.length) throw new Unsupported(this.tokens[this.i]?.text ?? '');
    return v;
  }
  private peek(text?: string): Token | undefined {
    const t = this.tokens[this.i];
    return t && (text === undefined || t.text === text) ? t : undefined;
  }
  private take(text: string): boolean {
    if (this.peek(text) && this.tokens[this.i]?.kind !== 'str') {
      this.i++;
      return true;
    }
    return false;
  }
  private expect(text: string) {
    if (!this.take(text)) throw new Unsupported(`expected ${text}`);
  }
  private or(): unknown {
    let v = this.and();
    while (this.take('or')) {
      const r = this.and();
      v = truthy(v) ? v : r;
    }
    return v;
  }
  private and(): unknown {
    let v = this.not();
    while (this.take('and')) {
      const r = this.not();
      v = truthy(v) ? r : v;
    }
    return v;
  }
  private not(): unknown {
    if (this.take('not')) return !truthy(this.not());
    return this.compare();
  }
  private compare(): unknown {
    const left = this.concat();
    const t = this.peek();
    if (!t || t.kind === 'str') return left;
    const op = t.text;
    if (['==', '!=', '<', '>', '<=', '>='].includes(op)) {
      this.i++;
      const right = this.concat();
      switch (op) {
        case '==': return left === right;
        case '!=': return left !== right;
        case '<': return (left as number) < (right as number);
        case '>': return (left as number) > (right as number);
        case '<=': return (left as number) <= (right as number);
        default: return (left as number) >= (right as number);
      }
    }
    if (op === 'in' || (op === 'not' && this.tokens[this.i + 1]?.text === 'in')) {
      const negate = op === 'not';
      this.i += negate ? 2 : 1;
      const right = this.concat();
      const found = Array.isArray(right) || typeof right === 'string' ? right.includes(left as never) : false;
      return negate ? !found : found;
    }
    return left;
  }
  private concat(): unknown {
    let v = this.additive();
    while (this.take('~')) v = String(v ?? '') + String(this.additive() ?? '');
    return v;
  }
  private additive(): unknown {
    let v = this.filtered();
    for (;;) {
      if (this.take('+')) v = (v as number) + (this.filtered() as number);
      else if (this.take('-')) v = (v as number) - (this.filtered() as number);
      else return v;
    }
  }
  private filtered(): unknown {
    let v = this.primary();
    while (this.take('|')) {
      const name = this.tokens[this.i++];
      if (!name || name.kind !== 'name') throw new Unsupported('filter');
      const args: unknown[] = [];
      if (this.take('(')) {
        if (!this.take(')')) {
          do args.push(this.or());
          while (this.take(','));
          this.expect(')');
        }
      }
      v = applyFilter(name.text, v, args);
    }
    return v;
  }
  private primary(): unknown {
    const t = this.tokens[this.i++];
    if (!t) throw new Unsupported('end');
    if (t.kind === 'str') return t.text;
    if (t.kind === 'num') return Number(t.text);
    if (t.kind === 'op' && t.text === '(') {
      const v = this.or();
      this.expect(')');
      return v;
    }
    if (t.kind === 'op' && t.text === '[') {
      const items: unknown[] = [];
      if (!this.take(']')) {
        do items.push(this.or());
        while (this.take(','));
        this.expect(']');
      }
      return items;
    }
    if (t.kind === 'op' && t.text === '-') return -(this.primary() as number);
    if (t.kind === 'name') {
      if (t.text === 'true' || t.text === 'True') return true;
      if (t.text === 'false' || t.text === 'False') return false;
      if (t.text === 'none' || t.text === 'None') return null;
      if (!(t.text in this.scope)) throw new Unsupported(`unknown name ${t.text}`);
      return this.scope[t.text];
    }
    throw new Unsupported(t.text);
  }
}

function applyFilter(name: string, v: unknown, args: unknown[]): unknown {
  const s = () => String(v ?? '');
  switch (name) {
    case 'replace':
      return s().split(String(args[0])).join(String(args[1]));
    case 'lower':
      return s().toLowerCase();
    case 'upper':
      return s().toUpperCase();
    case 'trim':
      return s().trim();
    case 'length':
      return Array.isArray(v) || typeof v === 'string' ? v.length : 0;
    case 'default':
      return v === undefined || v === null || v === '' ? args[0] : v;
    case 'bool':
      return truthy(v);
    case 'int':
      return Number.parseInt(s(), 10) || 0;
    case 'string':
      return s();
    default:
      throw new Unsupported(`filter ${name}`);
  }
}

/** Evaluates one expression; undefined when it uses what this subset lacks. */
export function evaluate(expr: string, scope: Scope): Value | undefined {
  try {
    return new Parser(tokenize(expr), scope).parseAll() as Value;
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}

/** Renders a template made of text and `{{ expression }}` parts; undefined when it cannot. */
export function render(template: string, scope: Scope): string | undefined {
  if (template.includes('{%') || template.includes('{#')) return undefined;
  let out = '';
  let rest = template;
  for (;;) {
    const start = rest.indexOf('{{');
    if (start < 0) return out + rest;
    const end = rest.indexOf('}}', start);
    if (end < 0) return undefined;
    out += rest.slice(0, start);
    const inner = rest.slice(start + 2, end).replace(/^-|-$/g, '');
    let value: unknown;
    try {
      value = new Parser(tokenize(inner), scope).parseAll();
    } catch (err) {
      if (err instanceof Unsupported) return undefined;
      throw err;
    }
    if (value === undefined) return undefined;
    out += value === null ? 'None' : typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value);
    rest = rest.slice(end + 2);
  }
}

/** Whether a `when` condition (a template, as copier writes them) holds; undefined if unknown. */
export function condition(when: string, scope: Scope): boolean | undefined {
  const trimmed = when.trim();
  const m = /^\{\{-?([\s\S]*?)-?\}\}$/.exec(trimmed);
  if (m && m[1] !== undefined && !m[1].includes('}}')) {
    const v = evaluate(m[1], scope);
    return v === undefined ? undefined : truthy(v);
  }
  const rendered = render(trimmed, scope);
  if (rendered === undefined) return undefined;
  const t = rendered.trim().toLowerCase();
  return !(t === '' || t === 'false' || t === '0' || t === 'none' || t === 'no' || t === 'off');
}
