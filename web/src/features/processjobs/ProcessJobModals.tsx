import { Button, Group, Modal, SegmentedControl, Select, Stack, Textarea, TextInput } from '@mantine/core';
import { useState } from 'react';
import { confirmDestructive } from '../../shell/confirm';
import { errorUnder, fieldErrorsOf, RefusalAlert } from '../../shell/refusal';
import {
  useReassignProcessJob,
  useRobots,
  useSetProcessJobStatus,
  type ProcessJob,
  type StatusBody,
} from './queries';

/**
 * Give a waiting job to one robot, or to a pool (empty: any robot). A refusal stays on the form;
 * done, the modal closes and the page shows the job's new robot or pool.
 */
export function ReassignModal(props: { job: ProcessJob; opened: boolean; onClose: () => void }) {
  const [to, setTo] = useState<'robot' | 'pool'>('robot');
  const [robotId, setRobotId] = useState<string | null>(null);
  const [pool, setPool] = useState('');
  const robots = useRobots();
  const reassign = useReassignProcessJob(props.job.id);
  const errors = fieldErrorsOf(reassign.error);
  const close = () => {
    reassign.reset();
    props.onClose();
  };
  const submit = () => {
    const body = to === 'robot' ? { robot_id: robotId ?? '' } : { robot_pool: pool.trim() || null };
    reassign.mutate(body, { onSuccess: close });
  };
  return (
    <Modal opened={props.opened} onClose={close} title="Reassign the job">
      <Stack>
        <SegmentedControl
          aria-label="Reassign to"
          value={to}
          onChange={(value) => setTo(value === 'pool' ? 'pool' : 'robot')}
          data={[
            { value: 'robot', label: 'One robot' },
            { value: 'pool', label: 'A pool' },
          ]}
        />
        {to === 'robot' ? (
          <Select
            label="Robot"
            placeholder="Pick a robot"
            searchable
            data={(robots.data?.items ?? [])
              .filter((robot) => robot.id !== props.job.robot_id)
              .map((robot) => ({ value: robot.id, label: `${robot.name} (${robot.status})` }))}
            value={robotId}
            onChange={setRobotId}
            error={errorUnder(errors, 'robot_id')}
          />
        ) : (
          <TextInput
            label="Pool"
            description="Any free robot of this pool takes it; empty: any robot at all"
            value={pool}
            onChange={(event) => setPool(event.currentTarget.value)}
            error={errorUnder(errors, 'robot_pool')}
          />
        )}
        <RefusalAlert error={reassign.error} shown={['robot_id', 'robot_pool']} />
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            Close
          </Button>
          <Button onClick={submit} loading={reassign.isPending} disabled={to === 'robot' && !robotId}>
            Reassign
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}

const FINAL_STATES: StatusBody['status'][] = ['succeeded', 'failed', 'canceled'];

/**
 * End a job by hand, with the final status and why; asked once more before it happens, since
 * what its robot reports afterwards no longer counts.
 */
export function SetStatusModal(props: { job: ProcessJob; opened: boolean; onClose: () => void }) {
  const [status, setStatus] = useState<StatusBody['status']>('failed');
  const [reason, setReason] = useState('');
  const setJobStatus = useSetProcessJobStatus(props.job.id);
  const close = () => {
    setJobStatus.reset();
    setReason('');
    props.onClose();
  };
  const confirm = () =>
    confirmDestructive({
      title: `Mark this job ${status}?`,
      body: `The job ends now as ${status}, with the reason given; what its robot reports afterwards no longer counts.`,
      confirm: `Mark ${status}`,
      run: () => setJobStatus.mutateAsync({ status, reason: reason.trim() }).then(close),
    });
  return (
    <Modal opened={props.opened} onClose={close} title="Set the status by hand">
      <Stack>
        <Select
          label="Status"
          data={FINAL_STATES}
          value={status}
          onChange={(value) => setStatus(FINAL_STATES.find((state) => state === value) ?? 'failed')}
          allowDeselect={false}
        />
        <Textarea
          label="Reason"
          description="Kept with the job and in the audit log"
          value={reason}
          onChange={(event) => setReason(event.currentTarget.value)}
          autosize
          minRows={2}
          maxLength={1000}
        />
        <RefusalAlert error={setJobStatus.error} />
        <Group justify="flex-end">
          <Button variant="default" onClick={close}>
            Close
          </Button>
          <Button color="red" onClick={confirm} disabled={!reason.trim()} loading={setJobStatus.isPending}>
            Set status
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
