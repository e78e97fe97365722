import { Button, Group, Modal, Select, Stack } from '@mantine/core';
import { useState } from 'react';
import { CodeTextarea } from '../../shell/CodeTextarea';
import { errorUnder, fieldErrorsOf, RefusalAlert, type FieldErrors } from '../../shell/refusal';
import { useProcessChoices, useRobots, useStartProcessJob, type ProcessItem } from './queries';

const pretty = (value: unknown) => JSON.stringify(value, null, 2);

/** The text as a JSON object, or why it is not one. */
export function parseJsonObject(text: string): { value?: Record<string, unknown>; error?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `not valid JSON: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { error: 'must be a JSON object, as { "name": value }' };
  return { value: value as Record<string, unknown> };
}

/**
 * The server names an input field by JSON pointer under `input` (`input/count`): shown under the
 * input as `count: …`, like the other fields nested in it.
 */
function inputErrorOf(errors: FieldErrors): string | undefined {
  const nested: FieldErrors = {};
  for (const [field, message] of Object.entries(errors))
    nested[field.replace(/^input\//, 'input.').replaceAll('/', '.')] = message;
  return errorUnder(nested, 'input');
}

const SHOWN = ['process_id', 'robot_id', 'input'] as const;

/**
 * Start a process: the process (its default input prefilled), optionally one robot of its pool
 * (none: any robot of the pool takes it), and the input as a JSON object. A refusal stays on the
 * form, each detail under its input; started, the modal closes and the list shows the job.
 */
export function StartProcessModal(props: { opened: boolean; onClose: () => void }) {
  const processes = useProcessChoices();
  const [process, setProcess] = useState<ProcessItem | null>(null);
  const [robotId, setRobotId] = useState<string | null>(null);
  const [input, setInput] = useState('{}');
  const [inputError, setInputError] = useState<string | null>(null);
  const robots = useRobots(process?.robot_pool);
  const start = useStartProcessJob();
  const errors = fieldErrorsOf(start.error);

  const choose = (id: string | null) => {
    const chosen = processes.data?.items.find((item) => item.id === id) ?? null;
    setProcess(chosen);
    setRobotId(null);
    setInput(pretty(chosen?.default_input ?? {}));
    setInputError(null);
    start.reset();
  };
  const close = () => {
    choose(null);
    props.onClose();
  };
  const submit = () => {
    if (!process) return;
    const parsed = parseJsonObject(input);
    setInputError(parsed.error ?? null);
    if (!parsed.value) return;
    start.mutate(
      { process_id: process.id, input: parsed.value, ...(robotId ? { robot_id: robotId } : {}) },
      { onSuccess: close },
    );
  };
  const anyRobot = process?.robot_pool ? `Any robot of pool ${process.robot_pool}` : 'Any robot';

  return (
    <Modal opened={props.opened} onClose={close} title="Start a process" size="lg">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <Stack>
          <Select
            label="Process"
            placeholder="Pick a process"
            searchable
            data={(processes.data?.items ?? []).map((item) => ({
              value: item.id,
              label: `${item.name} (v${item.version})`,
            }))}
            value={process?.id ?? null}
            onChange={choose}
            error={errors.process_id ?? processes.error?.message}
            nothingFoundMessage="No process"
            comboboxProps={{ withinPortal: true }}
          />
          <Select
            label="Robot"
            description={
              process?.robot_pool
                ? `Robots of the pool ${process.robot_pool}; none picked, the first free one takes it`
                : 'None picked, the first free robot takes it'
            }
            placeholder={anyRobot}
            clearable
            searchable
            disabled={!process}
            data={(robots.data?.items ?? []).map((robot) => ({
              value: robot.id,
              label: `${robot.name} (${robot.status})`,
            }))}
            value={robotId}
            onChange={setRobotId}
            error={errors.robot_id}
            nothingFoundMessage="No robot in this pool"
          />
          <CodeTextarea
            label="Input"
            description="A JSON object, merged over the process's default input"
            value={input}
            onChange={(event) => setInput(event.currentTarget.value)}
            disabled={!process}
            error={inputError ?? inputErrorOf(errors)}
            maxRows={16}
          />
          <RefusalAlert
            error={start.error}
            shown={[...SHOWN, ...Object.keys(errors).filter((field) => field.startsWith('input/'))]}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Close
            </Button>
            <Button type="submit" disabled={!process} loading={start.isPending}>
              Start
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
