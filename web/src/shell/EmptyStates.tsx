import { Button, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router';

export function NotFound() {
  return (
    <Stack align="center" mt="xl" gap="xs">
      <Title order={2}>Page not found</Title>
      <Text c="dimmed">Nothing lives at this address.</Text>
      <Button component={Link} to="/" variant="light">
        Go to the overview
      </Button>
    </Stack>
  );
}
