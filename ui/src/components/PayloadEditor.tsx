import { useId, useMemo, useState } from 'react';
import { canonicalJson, parsePayload } from '../lib/plan';
import { answersOf, fieldsOf, validate, valuesOf, type Field, type FormValue, type FormValues } from '../lib/schema';
import { SchemaForm } from './SchemaForm';

/** What the person made of a payload: the new one (null while unchanged) and what is wrong with it. */
export type PayloadChange = (payloadJson: string | null, problem: string | null) => void;

interface Props {
  /** The payload as planned (a JSON object). */
  payloadJson: string;
  /** The task type's payload schema, when its agent declared one. */
  schemaJson: string | undefined;
  /** Names the editor to assistive technology ("Payload of step 2"). */
  label: string;
  onChange: PayloadChange;
}

function formFor(schemaJson: string | undefined, payloadJson: string) {
  if (!schemaJson) return null;
  const given = parsePayload(payloadJson);
  if (!('value' in given)) return null;
  try {
    const fields = fieldsOf(schemaJson);
    return fields.length > 0 ? { fields, given: given.value } : null;
  } catch {
    return null;
  }
}

/**
 * A step's payload, editable: the form of its task type's schema when there is one (the values
 * the plan gave filled in, its defaults for the rest), else the JSON itself. Reports each change.
 */
export function PayloadEditor({ payloadJson, schemaJson, label, onChange }: Props) {
  const form = useMemo(() => formFor(schemaJson, payloadJson), [schemaJson, payloadJson]);
  return form ? (
    <PayloadForm fields={form.fields} given={form.given} label={label} onChange={onChange} />
  ) : (
    <PayloadJson payloadJson={payloadJson} label={label} onChange={onChange} />
  );
}

function PayloadForm(props: {
  fields: Field[];
  given: Record<string, unknown>;
  label: string;
  onChange: PayloadChange;
}) {
  const { fields, given, onChange } = props;
  const [start] = useState(() => valuesOf(fields, given));
  const [values, setValues] = useState<FormValues>(start);
  const problems = validate(fields, values);

  const change = (name: string, value: FormValue) => {
    const next = { ...values, [name]: value };
    setValues(next);
    const answers = answersOf(fields, next);
    const changed = canonicalJson(answers) !== canonicalJson(answersOf(fields, start));
    // What the schema does not describe is kept as the plan gave it.
    const kept = Object.fromEntries(Object.entries(given).filter(([k]) => !fields.some((f) => f.name === k)));
    const first = Object.values(validate(fields, next))[0] ?? null;
    onChange(changed ? JSON.stringify({ ...kept, ...answers }) : null, first);
  };

  return (
    <fieldset className="payload-form">
      <legend>{props.label}</legend>
      <SchemaForm fields={fields} values={values} problems={problems} onChange={change} />
    </fieldset>
  );
}

function pretty(payloadJson: string): string {
  const parsed = parsePayload(payloadJson);
  return 'value' in parsed ? JSON.stringify(parsed.value, null, 2) : payloadJson;
}

function PayloadJson({ payloadJson, label, onChange }: { payloadJson: string; label: string; onChange: PayloadChange }) {
  const id = useId();
  const [text, setText] = useState(() => pretty(payloadJson));
  const [problem, setProblem] = useState<string | null>(null);

  const change = (next: string) => {
    setText(next);
    const parsed = parsePayload(next);
    if ('problem' in parsed) {
      setProblem(parsed.problem);
      onChange(null, parsed.problem);
      return;
    }
    setProblem(null);
    const before = parsePayload(payloadJson);
    const changed = !('value' in before) || canonicalJson(before.value) !== canonicalJson(parsed.value);
    onChange(changed ? JSON.stringify(parsed.value) : null, null);
  };

  return (
    <div className="question payload-json">
      <label htmlFor={id}>{label} (JSON)</label>
      <textarea
        id={id}
        rows={Math.min(12, text.split('\n').length + 1)}
        spellCheck={false}
        value={text}
        aria-invalid={problem ? true : undefined}
        aria-describedby={problem ? `${id}-error` : undefined}
        data-testid="payload-json"
        onChange={(e) => change(e.target.value)}
      />
      {problem && (
        <p id={`${id}-error`} className="field-error" role="alert" data-testid="payload-error">
          {problem}
        </p>
      )}
    </div>
  );
}
