import { Alert, Anchor, Button, Center, Paper, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { textField } from './SignInPage';

export function PasswordResetPage() {
  const request = useMutation({
    mutationFn: (email: string) => api((c) => c.POST('/api/v1/auth/password-reset', { body: { email } })),
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    request.mutate(textField(new FormData(event.currentTarget), 'email'));
  };
  return (
    <Center h="100vh">
      <Paper withBorder shadow="sm" p="xl" w={380}>
        <form onSubmit={submit}>
          <Stack>
            <Title order={2}>Reset your password</Title>
            {request.isSuccess ? (
              <Alert color="green">If an account has this email, a reset link is on its way.</Alert>
            ) : (
              <Text size="sm">We send a single-use reset token to your email.</Text>
            )}
            {request.error && <Alert color="red">{request.error.message}</Alert>}
            <TextInput name="email" type="email" label="Email" required />
            <Button type="submit" loading={request.isPending}>
              Send reset email
            </Button>
            <Anchor component={Link} to="/sign-in" size="sm">
              Back to sign in
            </Anchor>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
