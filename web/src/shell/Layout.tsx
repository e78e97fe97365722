import {
  ActionIcon,
  AppShell,
  Burger,
  Group,
  Menu,
  NavLink,
  ScrollArea,
  Text,
  Title,
  UnstyledButton,
  useComputedColorScheme,
  useMantineColorScheme,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { Link, Outlet, useLocation, useNavigate } from 'react-router';
import { useSession } from '../features/auth/session';
import { sections } from './sections';
import { useInstanceName } from '../features/settings/instance';

function ThemeToggle() {
  const colorScheme = useMantineColorScheme();
  const scheme = useComputedColorScheme('light');
  const next = scheme === 'dark' ? 'light' : 'dark';
  return (
    <ActionIcon
      variant="default"
      size="lg"
      aria-label={`Switch to ${next} theme`}
      onClick={() => colorScheme.setColorScheme(next)}
    >
      {scheme === 'dark' ? '☀' : '☾'}
    </ActionIcon>
  );
}

function UserMenu() {
  const { me, signOut, switchOrg } = useSession();
  const navigate = useNavigate();
  const others = me?.orgs.filter((org) => org.id !== me.org.id) ?? [];
  const failed = (error: unknown) =>
    notifications.show({ color: 'red', message: error instanceof Error ? error.message : 'failed' });
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        <UnstyledButton aria-label="User menu">
          <Text size="sm" fw={500}>
            {me?.user?.name ?? me?.actor.label ?? 'Account'}
          </Text>
        </UnstyledButton>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>{me?.user?.email}</Menu.Label>
        {others.length > 0 && <Menu.Label>Switch organisation</Menu.Label>}
        {others.map((org) => (
          <Menu.Item
            key={org.id}
            onClick={() => {
              switchOrg(org.id).then(() => navigate('/'), failed);
            }}
          >
            {org.name}
          </Menu.Item>
        ))}
        <Menu.Divider />
        <Menu.Item color="red" onClick={() => void signOut().then(() => navigate('/sign-in'))}>
          Sign out
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

/** The frame of every signed-in page: header (organisation, theme, user) and the sections. */
export function Layout() {
  const [opened, { toggle }] = useDisclosure();
  const { me } = useSession();
  const { pathname } = useLocation();
  const instanceName = useInstanceName();
  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }}
      padding="md"
    >
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group>
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Navigation" />
            <Title order={4} data-testid="instance-name">
              {instanceName}
            </Title>
            <Text c="dimmed" size="sm" data-testid="org-name">
              {me?.org.name}
            </Text>
          </Group>
          <Group>
            <ThemeToggle />
            <UserMenu />
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Sections">
        {/* more sections than a short window holds: they scroll */}
        <AppShell.Section grow component={ScrollArea}>
          {sections.map((section) => (
            <NavLink
              key={section.path}
              component={Link}
              to={section.path}
              label={section.label}
              active={section.path === '/' ? pathname === '/' : pathname.startsWith(section.path)}
            />
          ))}
        </AppShell.Section>
      </AppShell.Navbar>
      <AppShell.Main>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
