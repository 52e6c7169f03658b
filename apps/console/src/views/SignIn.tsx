import { ActionGroup, Alert, Button, Form, FormGroup, LoginPage, TextInput } from '@patternfly/react-core';
import { useState } from 'react';
import type { FormEvent } from 'react';
import { useSession } from '../session';

/** Paste an API key once: the gateway turns it into a session cookie; the page keeps no key. */
export function SignIn() {
  const { signIn } = useSession();
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(key);
      setKey('');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <LoginPage
      loginTitle="Sign in to Ferry"
      loginSubtitle="Paste an API key (fry_…). It is sent once; the browser then holds only a session cookie."
    >
      <Form onSubmit={(e) => void submit(e)}>
        {error && <Alert variant="danger" isInline title={error} />}
        <FormGroup label="API key" isRequired fieldId="api-key">
          <TextInput
            id="api-key"
            type="password"
            autoComplete="off"
            isRequired
            value={key}
            onChange={(_e, v) => setKey(v)}
          />
        </FormGroup>
        <ActionGroup>
          <Button
            type="submit"
            variant="primary"
            isBlock
            isLoading={busy}
            isDisabled={busy || key.trim() === ''}
          >
            Sign in
          </Button>
        </ActionGroup>
      </Form>
    </LoginPage>
  );
}
