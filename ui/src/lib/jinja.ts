// Just enough of Jinja to follow a template's questions in the form: `x-when` conditions (e.g.
// "{{ database == 'postgres' and docker }}"), simple `x-default-template` defaults (e.g.
// "{{ project_name|replace('-', '_') }}") and `x-validator`s, the template's own checks, run as
// they are written (`{% if %}`/`{% elif %}`/`{% else %}` blocks, `regex_search`, `is none`,
// slices). Anything it does not understand yields `undefined`, and the caller falls back (shows
// the question; leaves the default or the check to the bootstrapper, which has real Jinja).

type Value = string | number | boolean | null | undefined | Value[] | { [k: string]: Value };
type Scope = Record<string, unknown>;

class Unsupported extends Error {}

type Token = { kind: 'str' | 'num' | 'name' | 'op'; text: string };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(==|!=|<=|>=|[<>()[\]|,~+:-]))/y;
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
    let v = this.subscripted();
    for (;;) {
      if (this.take('is')) {
        const negate = this.take('not');
        const name = this.tokens[this.i++];
        if (!name || name.kind !== 'name') throw new Unsupported('test');
        const held = applyTest(name.text, v);
        v = negate ? !held : held;
        continue;
      }
      if (!this.take('|')) return v;
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
  }
  /** `x[i]`, `x[a:b]` (Python's indexing and slicing of strings and lists). */
  private subscripted(): unknown {
    let v = this.primary();
    while (this.peek('[') && this.tokens[this.i]?.kind === 'op') {
      this.i++;
      const start = this.peek(':') ? undefined : this.or();
      if (this.take(':')) {
        const end = this.peek(']') ? undefined : this.or();
        this.expect(']');
        v = slice(v, start, end);
      } else {
        this.expect(']');
        v = index(v, start);
      }
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

function sequence(v: unknown): string | unknown[] {
  if (typeof v === 'string' || Array.isArray(v)) return v;
  throw new Unsupported('not a sequence');
}

function slice(v: unknown, start: unknown, end: unknown): unknown {
  const seq = sequence(v);
  const items = typeof seq === 'string' ? [...seq] : seq;
  const at = (i: unknown, dflt: number) => {
    if (i === undefined) return dflt;
    if (typeof i !== 'number' || !Number.isInteger(i)) throw new Unsupported('slice');
    return i < 0 ? Math.max(items.length + i, 0) : Math.min(i, items.length);
  };
  const part = items.slice(at(start, 0), at(end, items.length));
  return typeof seq === 'string' ? part.join('') : part;
}

function index(v: unknown, i: unknown): unknown {
  if (typeof i === 'string' && v && typeof v === 'object' && !Array.isArray(v)) {
    if (!Object.hasOwn(v, i)) throw new Unsupported(`no key ${i}`);
    return (v as Record<string, unknown>)[i];
  }
  const seq = sequence(v);
  const items = typeof seq === 'string' ? [...seq] : seq;
  if (typeof i !== 'number' || !Number.isInteger(i)) throw new Unsupported('index');
  const at = i < 0 ? items.length + i : i;
  if (at < 0 || at >= items.length) throw new Unsupported('index out of range');
  return items[at];
}

function applyTest(name: string, v: unknown): boolean {
  switch (name) {
    case 'none':
      return v === null;
    case 'defined':
      return v !== undefined;
    case 'undefined':
      return v === undefined;
    case 'string':
      return typeof v === 'string';
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      throw new Unsupported(`test ${name}`);
  }
}

/** A Python regular expression as JavaScript's, when it reads the same (else Unsupported). */
function pythonRegExp(pattern: unknown): RegExp {
  // Named groups, lookbehind, inline flags and \A, \Z are spelled differently or not at all.
  if (typeof pattern !== 'string' || /\(\?P|\(\?[aiLmsux]|\\[AZ]/.test(pattern)) throw new Unsupported('regex');
  try {
    return new RegExp(pattern, 'u');
  } catch {
    throw new Unsupported('regex');
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
    case 'regex_search': {
      // As copier's (jinja2-ansible-filters): the first match, or none.
      if (args.length !== 1) throw new Unsupported('regex_search with options');
      const m = pythonRegExp(args[0]).exec(s());
      return m ? m[0] : null;
    }
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

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'expr'; src: string }
  | { kind: 'if'; branches: { test: string | null; body: Node[] }[] };

/** Splits a template into text, `{{ }}` and `{% %}` parts, honouring `-` whitespace control. */
function lex(template: string): ({ kind: 'text'; text: string } | { kind: 'expr' | 'stmt'; src: string })[] {
  const parts: ({ kind: 'text'; text: string } | { kind: 'expr' | 'stmt'; src: string })[] = [];
  const re = /\{([{%#])(-?)([\s\S]*?)(-?)([}%#])\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    const [whole, open, trimBefore, body, trimAfter, close] = m;
    const pairs: Record<string, string> = { '{': '}', '%': '%', '#': '#' };
    if (open === undefined || pairs[open] !== close) throw new Unsupported('tag');
    let text = template.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (trimBefore) text = text.replace(/\s+$/, '');
    if (text) parts.push({ kind: 'text', text });
    if (open === '{') parts.push({ kind: 'expr', src: body ?? '' });
    else if (open === '%') parts.push({ kind: 'stmt', src: (body ?? '').trim() });
    trimNext = trimAfter === '-';
    last = m.index + whole.length;
  }
  let text = template.slice(last);
  if (trimNext) text = text.replace(/^\s+/, '');
  if (text) parts.push({ kind: 'text', text });
  return parts;
}

/** The tree of `if` blocks; any other statement is Unsupported. */
function parseBlocks(template: string): Node[] {
  const parts = lex(template);
  let i = 0;
  const block = (ends: string[]): Node[] => {
    const nodes: Node[] = [];
    while (i < parts.length) {
      const p = parts[i]!;
      if (p.kind === 'text') nodes.push({ kind: 'text', text: p.text });
      else if (p.kind === 'expr') nodes.push({ kind: 'expr', src: p.src });
      else {
        const word = p.src.split(/\s/, 1)[0] ?? '';
        if (ends.includes(word)) return nodes;
        if (word !== 'if') throw new Unsupported(`statement ${word}`);
        const branches: { test: string | null; body: Node[] }[] = [];
        let test: string | null = p.src.slice(2).trim();
        for (;;) {
          i++;
          const body = block(['elif', 'else', 'endif']);
          branches.push({ test, body });
          const end = parts[i];
          if (!end || end.kind !== 'stmt') throw new Unsupported('unclosed if');
          const endWord = end.src.split(/\s/, 1)[0];
          if (endWord === 'endif') break;
          if (endWord === 'else') test = null;
          else test = end.src.slice(4).trim();
        }
        nodes.push({ kind: 'if', branches });
      }
      i++;
    }
    if (ends.length > 0) throw new Unsupported('unclosed block');
    return nodes;
  };
  return block([]);
}

function show(value: unknown): string {
  return value === null ? 'None' : typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value);
}

function renderNodes(nodes: Node[], scope: Scope): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'expr') {
      const v = new Parser(tokenize(n.src), scope).parseAll();
      if (v === undefined) throw new Unsupported('undefined');
      out += show(v);
    } else {
      const taken = n.branches.find((b) => b.test === null || truthy(new Parser(tokenize(b.test), scope).parseAll()));
      if (taken) out += renderNodes(taken.body, scope);
    }
  }
  return out;
}

/**
 * What a template's `x-validator` says of the answers in `scope`: its message (rendered and
 * trimmed, as copier reads it), '' when the answer is fine, or undefined when the validator uses
 * what this subset lacks (the bootstrapper then is the only judge).
 */
export function validatorMessage(validator: string, scope: Scope): string | undefined {
  try {
    return renderNodes(parseBlocks(validator), scope).trim();
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}
