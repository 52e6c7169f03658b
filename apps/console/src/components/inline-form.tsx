import {
  Button,
  Form,
  FormGroup,
  TextInput,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import type { FormEvent } from 'react';

export interface Field {
  id: string;
  label: string;
  value: string;
  onChange(value: string): void;
  type?: 'text' | 'number' | 'password';
  /** Suggestions (a datalist), e.g. the existing templates. */
  suggestions?: string[];
}

/** A one-line form above a table: labelled fields and one submit button; Enter submits too. */
export function InlineForm({
  label,
  fields,
  submitText,
  disabled,
  onSubmit,
}: {
  label: string;
  fields: Field[];
  submitText: string;
  disabled: boolean;
  onSubmit(): Promise<void>;
}) {
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void onSubmit();
  };
  return (
    <Form isHorizontal onSubmit={submit} aria-label={label}>
      <Toolbar>
        <ToolbarContent>
          {fields.map((f) => (
            <ToolbarItem key={f.id}>
              <FormGroup label={f.label} fieldId={f.id}>
                <TextInput
                  id={f.id}
                  type={f.type ?? 'text'}
                  value={f.value}
                  list={f.suggestions ? `${f.id}-suggestions` : undefined}
                  onChange={(_e, v) => f.onChange(v)}
                />
                {f.suggestions && (
                  <datalist id={`${f.id}-suggestions`}>
                    {f.suggestions.map((s) => (
                      <option key={s} value={s} />
                    ))}
                  </datalist>
                )}
              </FormGroup>
            </ToolbarItem>
          ))}
          <ToolbarItem alignSelf="end">
            <Button type="submit" isDisabled={disabled}>
              {submitText}
            </Button>
          </ToolbarItem>
        </ToolbarContent>
      </Toolbar>
    </Form>
  );
}
