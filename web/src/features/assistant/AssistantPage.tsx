import {
  Alert,
  Badge,
  Button,
  Grid,
  Group,
  NavLink,
  Paper,
  SegmentedControl,
  Select,
  Stack,
  Text,
  Textarea,
  Title,
} from '@mantine/core';
import { useState } from 'react';
import { RefusalAlert } from '../../shell/refusal';
import { Pager, useCursorPages } from '../../shell/paging';
import { OS_TYPES, useAgents } from '../agents/queries';
import { usePermission } from '../auth/session';
import { ProposalCard } from './ProposalCard';
import {
  shells,
  type AssistantStatus,
  type GenerateBody,
  type Shell,
  useAssistantStatus,
  useConversation,
  useConversations,
  useGenerate,
} from './queries';

type TargetKind = 'agent' | 'os';

/** Where the command is for: an agent (its OS and shells) or an OS and a shell. */
function TargetPicker(props: {
  kind: TargetKind;
  onKind: (kind: TargetKind) => void;
  agentId: string | null;
  onAgent: (id: string | null) => void;
  os: string;
  onOs: (os: string) => void;
  shell: Shell;
  onShell: (shell: Shell) => void;
}) {
  const agents = useAgents({}, undefined, 200);
  const options = (agents.data?.items ?? []).map((a) => ({ value: a.id, label: `${a.name} (${a.os_type})` }));
  return (
    <Group align="end">
      <SegmentedControl
        value={props.kind}
        onChange={props.onKind}
        data={[
          { value: 'agent', label: 'An agent' },
          { value: 'os', label: 'An OS and shell' },
        ]}
      />
      {props.kind === 'agent' ? (
        <Select
          label="Agent"
          data={options}
          value={props.agentId}
          onChange={props.onAgent}
          searchable
          w={300}
        />
      ) : (
        <>
          <Select
            label="OS"
            data={OS_TYPES}
            value={props.os}
            onChange={(v) => props.onOs(v ?? 'linux')}
            w={160}
          />
          <Select
            label="Shell"
            data={shells}
            value={props.shell}
            onChange={(v) => props.onShell(v ?? 'bash')}
            w={140}
          />
        </>
      )}
    </Group>
  );
}

/** The model in use and the caller's own token usage over the last 30 days. */
function UsageSummary({ status }: { status: AssistantStatus }) {
  const { prompt_tokens, completion_tokens, requests } = status.usage;
  return (
    <Group gap="xs" data-testid="assistant-usage">
      {status.model && (
        <Badge variant="light" tt="none" data-testid="assistant-model">
          {status.model}
        </Badge>
      )}
      <Text
        size="sm"
        c="dimmed"
        title={`${prompt_tokens.toLocaleString()} prompt, ${completion_tokens.toLocaleString()} completion`}
      >
        Your last 30 days: {(prompt_tokens + completion_tokens).toLocaleString()} tokens in{' '}
        {requests.toLocaleString()} {requests === 1 ? 'request' : 'requests'}
      </Text>
    </Group>
  );
}

/** The caller's own conversations, newest first; picking one continues it. */
function ConversationList(props: { current: string | null; onPick: (id: string | null) => void }) {
  const pages = useCursorPages();
  const conversations = useConversations(pages.cursor);
  return (
    <Stack gap={4}>
      <Button variant="light" size="xs" onClick={() => props.onPick(null)}>
        New conversation
      </Button>
      {(conversations.data?.items ?? []).map((c) => (
        <NavLink
          key={c.id}
          label={c.title}
          description={c.shell}
          active={c.id === props.current}
          onClick={() => props.onPick(c.id)}
          data-testid="conversation-link"
        />
      ))}
      <Pager pages={pages} nextCursor={conversations.data?.next_cursor} />
    </Stack>
  );
}

/** The command assistant: a request in plain words, a reviewed command out, run on an agent. */
export function AssistantPage() {
  const status = useAssistantStatus();
  const canGenerate = usePermission('assistant:execute');
  const [conversationId, setConversationId] = useState<string | null>(null);
  const conversation = useConversation(conversationId);
  const [kind, setKind] = useState<TargetKind>('agent');
  const [agentId, setAgentId] = useState<string | null>(null);
  const [os, setOs] = useState('linux');
  const [shell, setShell] = useState<Shell>('bash');
  const [prompt, setPrompt] = useState('');
  const generate = useGenerate();

  const send = (text: string, jobId?: string) => {
    const target: Partial<GenerateBody> =
      conversationId !== null
        ? {}
        : kind === 'agent' && agentId
          ? { agent_id: agentId }
          : { os_type: os as GenerateBody['os_type'], shell };
    generate.mutate(
      {
        prompt: text,
        ...target,
        ...(conversationId ? { conversation_id: conversationId } : {}),
        ...(jobId ? { job_id: jobId } : {}),
      },
      {
        onSuccess: (reply) => {
          setConversationId(reply.conversation_id);
          setPrompt('');
        },
      },
    );
  };
  const runAgent = conversation.data?.agent_id ?? (kind === 'agent' ? agentId : null);
  const ready = status.data?.enabled && status.data.configured;

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Assistant</Title>
        {status.data && <UsageSummary status={status.data} />}
      </Group>
      {status.data && !ready && (
        <Alert color="yellow">
          The assistant needs a provider: turn it on and set its URL and model in Settings, AI.
        </Alert>
      )}
      {status.data?.last_error && <Alert color="red">Last provider error: {status.data.last_error}</Alert>}
      <Grid>
        <Grid.Col span={{ base: 12, md: 3 }}>
          <ConversationList current={conversationId} onPick={setConversationId} />
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 9 }}>
          <Stack>
            {conversationId === null && (
              <TargetPicker
                kind={kind}
                onKind={setKind}
                agentId={agentId}
                onAgent={setAgentId}
                os={os}
                onOs={setOs}
                shell={shell}
                onShell={setShell}
              />
            )}
            {(conversation.data?.messages ?? []).map((message) =>
              message.role === 'user' ? (
                <Paper key={message.id} p="sm" bg="gray.0">
                  <Text size="sm" style={{ whiteSpace: 'pre-wrap' }} lineClamp={8}>
                    {message.content}
                  </Text>
                </Paper>
              ) : (
                <ProposalCard
                  key={message.id}
                  conversationId={conversationId ?? ''}
                  message={message}
                  agentId={runAgent}
                  onExplain={(jobId) =>
                    send('What does this output mean? If it failed, how do I fix it?', jobId)
                  }
                />
              ),
            )}
            <RefusalAlert error={generate.error} />
            <Textarea
              label={conversationId ? 'Follow up' : 'What should be done?'}
              placeholder="show the five processes using the most memory"
              value={prompt}
              onChange={(event) => setPrompt(event.currentTarget.value)}
              autosize
              minRows={2}
            />
            <Group>
              <Button
                onClick={() => send(prompt)}
                disabled={
                  !canGenerate ||
                  prompt.trim() === '' ||
                  (conversationId === null && kind === 'agent' && !agentId)
                }
                loading={generate.isPending}
              >
                Generate
              </Button>
            </Group>
          </Stack>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
