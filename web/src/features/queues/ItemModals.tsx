import { Button, Group, Modal, Select, Stack, Textarea, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useState } from 'react';
import { RefusalAlert } from '../../shell/refusal';
import { useAddItem, useAddItems, type ItemInput, type Priority } from './queries';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The text as JSON, or why it is not JSON. */
function parseJson(text: string): { value: unknown } | { problem: string } {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (error) {
    return { problem: `not JSON: ${(error as Error).message}` };
  }
}

/** An item's content: a JSON object, or why the text is not one. */
export function parseContent(text: string): { content: Record<string, unknown> } | { problem: string } {
  const parsed = parseJson(text.trim() === '' ? '{}' : text);
  if ('problem' in parsed) return parsed;
  return isObject(parsed.value)
    ? { content: parsed.value }
    : { problem: 'the content is a JSON object: { "name": value, … }' };
}

/**
 * Items pasted as a JSON array: each element an item (`{ "content": {…}, "priority": "high",
 * "reference": "…" }`) or, without a `content` key, the content itself.
 */
export function parseItems(text: string): { items: ItemInput[] } | { problem: string } {
  const parsed = parseJson(text);
  if ('problem' in parsed) return parsed;
  if (!Array.isArray(parsed.value) || parsed.value.length === 0)
    return { problem: 'paste a JSON array of at least one item' };
  const items: ItemInput[] = [];
  for (const [i, element] of parsed.value.entries()) {
    if (!isObject(element)) return { problem: `element ${i} is not an object` };
    if (!('content' in element)) items.push({ content: element });
    // Its other fields are left for the server to check, as a single item's are.
    else if (isObject(element.content)) items.push(element as ItemInput);
    else return { problem: `element ${i}: its content is not an object` };
  }
  return { items };
}

/** Adds one item: its content as JSON, a priority and an optional reference. */
export function AddItemModal(props: { queueId: string; opened: boolean; onClose: () => void }) {
  const add = useAddItem(props.queueId);
  const [content, setContent] = useState('{\n  \n}');
  const [priority, setPriority] = useState<Priority>('normal');
  const [reference, setReference] = useState('');
  const parsed = parseContent(content);
  const close = () => {
    add.reset();
    props.onClose();
  };
  const submit = () => {
    if ('problem' in parsed) return;
    add.mutate(
      { content: parsed.content, priority, ...(reference.trim() ? { reference: reference.trim() } : {}) },
      {
        onSuccess: () => {
          notifications.show({ color: 'green', message: 'Item added' });
          setContent('{\n  \n}');
          setReference('');
          close();
        },
      },
    );
  };
  return (
    <Modal opened={props.opened} onClose={close} title="Add an item" size="lg">
      <Stack>
        <RefusalAlert error={add.error} />
        <Textarea
          label="Content (JSON object)"
          autosize
          minRows={6}
          styles={{ input: { fontFamily: 'monospace' } }}
          value={content}
          onChange={(e) => setContent(e.currentTarget.value)}
          error={'problem' in parsed ? parsed.problem : undefined}
        />
        <Group grow>
          <Select
            label="Priority"
            data={['high', 'normal', 'low']}
            value={priority}
            onChange={(v) => setPriority(v ?? 'normal')}
            allowDeselect={false}
          />
          <TextInput
            label="Reference"
            value={reference}
            onChange={(e) => setReference(e.currentTarget.value)}
          />
        </Group>
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            Cancel
          </Button>
          <Button onClick={submit} loading={add.isPending} disabled={'problem' in parsed}>
            Add
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

/** Adds many items at once from a pasted JSON array: all of them, or none with the refusal shown. */
export function BulkAddModal(props: { queueId: string; opened: boolean; onClose: () => void }) {
  const add = useAddItems(props.queueId);
  const [text, setText] = useState('');
  const parsed = text.trim() === '' ? undefined : parseItems(text);
  const close = () => {
    add.reset();
    props.onClose();
  };
  const submit = () => {
    if (!parsed || 'problem' in parsed) return;
    add.mutate(parsed.items, {
      onSuccess: (result) => {
        notifications.show({ color: 'green', message: `${result.count} items added` });
        setText('');
        close();
      },
    });
  };
  return (
    <Modal opened={props.opened} onClose={close} title="Add items in bulk" size="lg">
      <Stack>
        <RefusalAlert error={add.error} />
        <Textarea
          label="Items (JSON array)"
          description='Each element an item, { "content": {…}, "priority": "high", "reference": "…" }, or its content alone; 10,000 at most'
          autosize
          minRows={8}
          maxRows={20}
          styles={{ input: { fontFamily: 'monospace' } }}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          error={parsed && 'problem' in parsed ? parsed.problem : undefined}
        />
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            Cancel
          </Button>
          <Button onClick={submit} loading={add.isPending} disabled={!parsed || 'problem' in parsed}>
            {parsed && 'items' in parsed ? `Add ${parsed.items.length} items` : 'Add items'}
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
