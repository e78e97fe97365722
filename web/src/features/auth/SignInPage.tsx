import { Alert, Anchor, Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { useState, type FormEvent } from 'react';
import { Link, Navigate, useSearchParams } from 'react-router';
import { useSession } from './session';

/** Only a path of this site: `next` comes from the URL, so anyone could have written it. */
function safeNext(next: string | null): string {
  return next?.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function textField(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}

export function SignInPage() {
  const { state, signIn } = useSession();
  const [params] = useSearchParams();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (state === 'signed-in') return <Navigate to={safeNext(params.get('next'))} replace />;

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await signIn(textField(form, 'email'), textField(form, 'password'));
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : 'sign-in failed');
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center h="100vh">
      <Paper withBorder shadow="sm" p="xl" w={380}>
        <form onSubmit={(event) => void submit(event)}>
          <Stack>
            <Title order={2}>Sign in to Fleetplane</Title>
            {error && (
              <Alert color="red" role="alert" title="Sign-in failed">
                {error}
              </Alert>
            )}
            <TextInput name="email" type="email" label="Email" required autoComplete="username" autoFocus />
            <PasswordInput name="password" label="Password" required autoComplete="current-password" />
            <Button type="submit" loading={busy}>
              Sign in
            </Button>
            <Anchor component={Link} to="/password-reset" size="sm">
              Forgot your password?
            </Anchor>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
