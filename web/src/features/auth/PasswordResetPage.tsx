import {
  Alert,
  Anchor,
  Button,
  Center,
  Paper,
  PasswordInput,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import type { FormEvent, ReactNode } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api } from '../../api/client';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import { textField } from './SignInPage';

function ResetFrame(props: { children: ReactNode; onSubmit: (event: FormEvent<HTMLFormElement>) => void }) {
  return (
    <Center h="100vh">
      <Paper withBorder shadow="sm" p="xl" w={380}>
        <form onSubmit={props.onSubmit}>
          <Stack>
            <Title order={2}>Reset your password</Title>
            {props.children}
            <Anchor component={Link} to="/sign-in" size="sm">
              Back to sign in
            </Anchor>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}

/** Step one: the email to send a reset token to (the answer is the same whether it exists). */
function RequestReset() {
  const request = useMutation({
    mutationFn: (email: string) => api((c) => c.POST('/api/v1/auth/password-reset', { body: { email } })),
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    request.mutate(textField(new FormData(event.currentTarget), 'email'));
  };
  return (
    <ResetFrame onSubmit={submit}>
      {request.isSuccess ? (
        <Alert color="green">If an account has this email, a reset link is on its way.</Alert>
      ) : (
        <Text size="sm">We send a single-use reset link to your email.</Text>
      )}
      <RefusalAlert error={request.error} />
      <TextInput name="email" type="email" label="Email" required />
      <Button type="submit" loading={request.isPending}>
        Send reset email
      </Button>
    </ResetFrame>
  );
}

/** Step two, from the mail's link: a new password for the token in the URL. */
function ConfirmReset({ token }: { token: string }) {
  const confirm = useMutation({
    mutationFn: (newPassword: string) =>
      api((c) =>
        c.POST('/api/v1/auth/password-reset/confirm', { body: { token, new_password: newPassword } }),
      ),
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    confirm.mutate(textField(new FormData(event.currentTarget), 'new_password'));
  };
  const errors = fieldErrorsOf(confirm.error);
  if (confirm.isSuccess)
    return (
      <ResetFrame onSubmit={submit}>
        <Alert color="green">Your password is set. Sign in with it.</Alert>
      </ResetFrame>
    );
  return (
    <ResetFrame onSubmit={submit}>
      <RefusalAlert error={confirm.error} shown={['new_password']} />
      <PasswordInput
        name="new_password"
        label="New password"
        autoComplete="new-password"
        required
        error={errorUnder(errors, 'new_password')}
      />
      <Button type="submit" loading={confirm.isPending}>
        Set password
      </Button>
    </ResetFrame>
  );
}

export function PasswordResetPage() {
  const [params] = useSearchParams();
  const token = params.get('token');
  return token ? <ConfirmReset token={token} /> : <RequestReset />;
}
