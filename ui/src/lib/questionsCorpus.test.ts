// The form against the questions corpus (tests/questions/corpus.json), which the manager and the
// bootstrapper read too: for each template's answers schema, the answers a case gives are taken
// or refused by the form's own checks as the bootstrapper takes or refuses them.
import { describe, expect, it } from 'vitest';
import corpusText from '../../../tests/questions/corpus.json?raw';
import { fieldsOf, validate, valuesOf } from './schema';

interface Answers {
  given: Record<string, unknown>;
  ok: boolean;
  field?: string;
  message?: string;
}

interface Case {
  name: string;
  schema?: Record<string, unknown>;
  error?: string;
  answers?: Answers[];
}

const cases = (JSON.parse(corpusText) as { cases: Case[] }).cases;
const withSchema = cases.filter((c) => c.schema !== undefined);

describe('the questions corpus in the form', () => {
  it('has cases with schemas to check', () => {
    expect(withSchema.length).toBeGreaterThanOrEqual(40);
  });

  for (const c of withSchema) {
    for (const a of c.answers ?? []) {
      it(`${c.name}: ${JSON.stringify(a.given)} is ${a.ok ? 'taken' : `refused for ${a.field}`}`, () => {
        const fields = fieldsOf(JSON.stringify(c.schema));
        const problems = validate(fields, valuesOf(fields, a.given));
        if (a.ok) {
          expect(problems).toEqual({});
          return;
        }
        expect(Object.keys(problems)).toContain(a.field);
        expect(problems[a.field ?? '']).toContain(a.message ?? '');
      });
    }
  }
});
