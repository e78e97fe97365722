import { Button, Group, Modal, Stack, TagsInput } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import type { Agent } from './queries';
import { notifyFailure } from '../../shell/confirm';

/** Adds tags to each selected agent, keeping the tags it has. */
export function TagModal(props: { agents: Agent[]; opened: boolean; onClose: () => void }) {
  const [tags, setTags] = useState<string[]>([]);
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: () =>
      Promise.all(
        props.agents.map((agent) =>
          api((c) =>
            c.PATCH('/api/v1/agents/{id}', {
              params: { path: { id: agent.id } },
              body: { tags: [...new Set([...agent.tags, ...tags.map((tag) => tag.toLowerCase())])] },
            }),
          ),
        ),
      ),
    onSuccess: () => {
      props.onClose();
      setTags([]);
      void queryClient.invalidateQueries({ queryKey: ['agents'] });
    },
    onError: notifyFailure('Tagging failed'),
  });
  return (
    <Modal opened={props.opened} onClose={props.onClose} title={`Tag ${props.agents.length} agent(s)`}>
      <Stack>
        <TagsInput label="Tags to add" value={tags} onChange={setTags} placeholder="web, eu-west…" />
        <Group justify="flex-end">
          <Button onClick={() => save.mutate()} loading={save.isPending} disabled={tags.length === 0}>
            Add tags
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
