import { useId } from 'react';
import { render as renderTemplate } from '../lib/jinja';
import { answersScope, isAsked, type Field, type FormValue, type FormValues } from '../lib/schema';

interface Props {
  fields: Field[];
  values: FormValues;
  /** Problems to show, by question name (only those the person has seen or tried to submit). */
  problems: Record<string, string>;
  /** A valid answer to offer, by question name, beside its problem ("Use “my-shop”"). */
  suggestions?: Record<string, string>;
  onChange: (name: string, value: FormValue) => void;
  onBlur?: (name: string) => void;
}

/** The questions of a template, drawn from its answers schema; conditional ones come and go. */
export function SchemaForm({ fields, values, problems, suggestions, onChange, onBlur }: Props) {
  const base = useId();
  const scope = answersScope(fields, values);
  return (
    <div className="schema-form" data-testid="schema-form">
      {fields
        .filter((f) => isAsked(f, scope))
        .map((f) => (
          <Question
            key={f.name}
            id={`${base}-${f.name}`}
            field={f}
            value={values[f.name]}
            problem={problems[f.name]}
            suggested={problems[f.name] ? suggestions?.[f.name] : undefined}
            computedDefault={f.defaultTemplate ? renderTemplate(f.defaultTemplate, scope) : undefined}
            onChange={(v) => onChange(f.name, v)}
            onBlur={() => onBlur?.(f.name)}
          />
        ))}
    </div>
  );
}

interface QuestionProps {
  id: string;
  field: Field;
  value: FormValue | undefined;
  problem: string | undefined;
  suggested?: string;
  computedDefault: string | undefined;
  onChange: (value: FormValue) => void;
  onBlur: () => void;
}

function Question({ id, field, value, problem, suggested, computedDefault, onChange, onBlur }: QuestionProps) {
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const describedBy = [field.help ? helpId : '', problem ? errorId : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name: field.name,
    'aria-describedby': describedBy,
    'aria-invalid': problem ? true : undefined,
    'aria-required': field.required || undefined,
    onBlur,
    'data-testid': `field-${field.name}`,
  };
  const label = (
    <>
      {field.label}
      {field.required && <span aria-hidden="true"> *</span>}
      {field.label !== field.name && <code className="field-name">{field.name}</code>}
    </>
  );

  let control;
  if (field.kind === 'boolean') {
    return (
      <div className="question question-boolean" data-question={field.name}>
        <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />
        <label htmlFor={id}>{label}</label>
        {field.help && <p id={helpId} className="help">{field.help}</p>}
        {problem && <p id={errorId} className="field-error" role="alert">{problem}</p>}
      </div>
    );
  } else if (field.kind === 'choice') {
    control = (
      <select {...common} value={typeof value === 'string' ? value : ''} onChange={(e) => onChange(e.target.value)}>
        {(field.default === undefined || value === '') && <option value="">Choose…</option>}
        {field.choices.map((c, i) => (
          <option key={i} value={String(i)}>
            {c.label}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === 'multichoice') {
    const chosen = Array.isArray(value) ? value : [];
    return (
      <fieldset className="question" data-question={field.name} aria-describedby={describedBy}>
        <legend>{label}</legend>
        {field.help && <p id={helpId} className="help">{field.help}</p>}
        {field.choices.map((c, i) => (
          <label key={i} className="inline">
            <input
              type="checkbox"
              checked={chosen.includes(String(i))}
              onChange={(e) =>
                onChange(e.target.checked ? [...chosen, String(i)] : chosen.filter((k) => k !== String(i)))
              }
            />
            {c.label}
          </label>
        ))}
        {problem && <p id={errorId} className="field-error" role="alert">{problem}</p>}
      </fieldset>
    );
  } else if (field.kind === 'json') {
    control = (
      <textarea {...common} rows={3} value={String(value ?? '')} onChange={(e) => onChange(e.target.value)} />
    );
  } else {
    const numeric = field.kind === 'integer' || field.kind === 'number';
    control = (
      <input
        {...common}
        type={field.secret ? 'password' : numeric ? 'number' : 'text'}
        step={field.kind === 'integer' ? 1 : numeric ? 'any' : undefined}
        min={field.minimum}
        max={field.maximum}
        autoComplete="off"
        spellCheck={false}
        placeholder={computedDefault || field.placeholder}
        value={String(value ?? '')}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  }
  return (
    <div className="question" data-question={field.name}>
      <label htmlFor={id}>{label}</label>
      {control}
      {field.help && <p id={helpId} className="help">{field.help}</p>}
      {field.defaultTemplate && (
        <p className="help">
          Left empty, it is computed by the template{computedDefault ? ` (${computedDefault})` : ''}.
        </p>
      )}
      {problem && <p id={errorId} className="field-error" role="alert">{problem}</p>}
      {suggested !== undefined && <Suggestion value={suggested} testId={`suggest-${field.name}`} onUse={() => onChange(suggested)} />}
    </div>
  );
}

/** "Use “my-shop”": puts a valid answer in place of a wrong one. */
export function Suggestion({ value, testId, onUse }: { value: string; testId: string; onUse: () => void }) {
  return (
    <p className="suggestion">
      <button type="button" className="link" data-testid={testId} onClick={onUse}>
        Use “{value}”
      </button>
    </p>
  );
}
