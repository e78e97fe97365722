import { ROSETTA_NOTE, type InstallerValues } from './platforms.js';
import { shQuote } from './quoting.js';

/*
 * The Linux and macOS installers: one POSIX sh script each (dash, bash, busybox ash and macOS sh
 * run it), sharing everything but the service definition. Values are embedded once, at the top,
 * single-quoted; nothing below expands them in a place where a shell would read them as code.
 */

function header(values: InstallerValues, system: string, service: string): string {
  return `#!/bin/sh
# Fleetplane agent installer for ${system}.
# Installs the agent as ${service} that starts at boot and is restarted whenever it exits,
# enrolls it with the server and starts it. Run it again to upgrade in place (the binary is
# replaced, the enrollment kept); with --uninstall it removes everything it installed.
#   sudo sh ${values.offline ? 'install.sh' : 'install.sh  (or through the one-line command)'}
#   sudo sh install.sh --uninstall
# FLEETPLANE_INSTALL_ROOT puts every path it touches under that directory (for tests).
set -eu

SERVER_URL=${shQuote(values.server)}
ENROLLMENT_TOKEN=${shQuote(values.token)}
AGENT_VERSION=${shQuote(values.version)}
AGENT_SHA256=${shQuote(values.sha256)}
# Empty: the executable AGENT_FILE beside this script is installed (the offline zip).
AGENT_URL=${shQuote(values.offline ? '' : values.downloadUrl)}
AGENT_FILE=${shQuote(values.executableName)}

ROOT="\${FLEETPLANE_INSTALL_ROOT:-}"
`;
}

const COMMON = `
say() { printf 'fleetplane-agent: %s\\n' "$*"; }
die() { printf 'fleetplane-agent: %s\\n' "$*" >&2; exit 1; }

UNINSTALL=0
for arg in "$@"; do
  case "$arg" in
    --uninstall) UNINSTALL=1 ;;
    *) die "unknown option $arg (the only one is --uninstall)" ;;
  esac
done
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then die 'run me as root (sudo sh ...)'; fi

# The agent keeps its token in agent.json once registered: then there is nothing to enroll.
enrolled() { [ -f "$STATE_DIR/agent.json" ] && grep -q '"agent_token"' "$STATE_DIR/agent.json"; }

# A background child that exited is reaped only when the shell looks at its jobs (dash, ash).
running() { jobs >/dev/null 2>&1; kill -0 "$1" 2>/dev/null; }

fetch_agent() {
  if command -v sha256sum >/dev/null 2>&1; then sha_tool='sha256sum'
  elif command -v shasum >/dev/null 2>&1; then sha_tool='shasum -a 256'
  else die 'neither sha256sum nor shasum is installed: the download cannot be checked'
  fi
  if [ -z "$AGENT_URL" ]; then
    beside="$(dirname -- "$0")/$AGENT_FILE"
    [ -f "$beside" ] || die "$AGENT_FILE is not beside this script: unpack the whole zip and run the script from there"
    cp -- "$beside" "$1"
  elif command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$1" "$AGENT_URL" || die "cannot download the agent from $AGENT_URL"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$1" "$AGENT_URL" || die "cannot download the agent from $AGENT_URL"
  else
    die 'neither curl nor wget is installed'
  fi
  actual=$($sha_tool "$1" | cut -d ' ' -f 1)
  if [ "$actual" != "$AGENT_SHA256" ]; then
    rm -f -- "$1"
    die "the agent's SHA-256 is $actual, not $AGENT_SHA256: the build changed or the download was damaged; get a new installer"
  fi
  chmod 0755 "$1"
}

# Registers with the enrollment token (the agent's first start), then stops that run: the service
# starts it for good, and the token is never written into the service definition.
enroll() {
  say "enrolling with $SERVER_URL"
  mkdir -p -- "$STATE_DIR"
  chmod 0700 "$STATE_DIR"
  "$BIN" --server "$SERVER_URL" --token "$ENROLLMENT_TOKEN" --state-dir "$STATE_DIR" &
  pid=$!
  tries=0
  while ! enrolled; do
    if ! running "$pid"; then
      wait "$pid" || true
      die 'the agent could not enroll (its message is above): is the enrollment token valid, unexpired and not used up?'
    fi
    tries=$((tries + 1))
    if [ "$tries" -gt 600 ]; then
      kill "$pid" 2>/dev/null || true
      die "the agent did not enroll within two minutes: can this machine reach $SERVER_URL?"
    fi
    sleep 0.2 2>/dev/null || sleep 1
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
`;

const INSTALL = `
# Everything that changes the machine runs from here, at the end: a download cut short changes nothing.
main() {
  if [ "$UNINSTALL" = 1 ]; then
    uninstall_service
    rm -rf -- "$BIN_DIR" "$STATE_DIR"
    say 'the agent, its service and its state are removed'
    exit 0
  fi

  UPGRADE=0
  if [ -f "$BIN" ]; then UPGRADE=1; fi
  mkdir -p -- "$BIN_DIR"
  trap 'rm -f -- "$BIN.download"' EXIT
  fetch_agent "$BIN.download"
  prepare_binary "$BIN.download"
  mv -f -- "$BIN.download" "$BIN"
  if enrolled; then say 'already enrolled: keeping the enrollment'; else enroll; fi
  install_service
  if [ "$UPGRADE" = 1 ]; then
    say "upgraded to agent $AGENT_VERSION and restarted"
  else
    say "agent $AGENT_VERSION installed, enrolled and started"
  fi
}

main
`;

const LINUX = `
BIN_DIR="$ROOT/opt/fleetplane-agent"
BIN="$BIN_DIR/fleetplane-agent"
STATE_DIR="$ROOT/var/lib/fleetplane-agent"
UNIT="$ROOT/etc/systemd/system/fleetplane-agent.service"
case "$ROOT" in *[[:space:]]*) die 'FLEETPLANE_INSTALL_ROOT must not contain blanks (it goes into the unit file)' ;; esac
command -v systemctl >/dev/null 2>&1 || die 'this installer needs systemd (systemctl was not found)'

prepare_binary() { :; }

install_service() {
  mkdir -p -- "$(dirname -- "$UNIT")"
  cat > "$UNIT.tmp" <<EOF
[Unit]
Description=Fleetplane agent
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=$BIN --state-dir $STATE_DIR
Environment=FLEETPLANE_AGENT_SUPERVISED=1
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
EOF
  chmod 0644 "$UNIT.tmp"
  mv -f -- "$UNIT.tmp" "$UNIT"
  systemctl daemon-reload
  systemctl enable fleetplane-agent.service
  if [ "$UPGRADE" = 1 ]; then
    systemctl restart fleetplane-agent.service
  else
    systemctl start fleetplane-agent.service
  fi
}

uninstall_service() {
  if [ -f "$UNIT" ]; then
    systemctl stop fleetplane-agent.service || true
    systemctl disable fleetplane-agent.service || true
    rm -f -- "$UNIT"
    systemctl daemon-reload
  fi
}
`;

function darwin(rosetta: boolean): string {
  const rosettaCheck = rosetta
    ? `# ${ROSETTA_NOTE}.
if [ "$(uname -m)" = arm64 ] && ! /usr/bin/arch -x86_64 /usr/bin/true 2>/dev/null; then
  die 'this agent needs Rosetta 2 on Apple silicon: run softwareupdate --install-rosetta --agree-to-license, then this installer again'
fi
`
    : '';
  return `
BIN_DIR="$ROOT/usr/local/fleetplane-agent"
BIN="$BIN_DIR/fleetplane-agent"
STATE_DIR="$ROOT/Library/Application Support/Fleetplane Agent"
PLIST="$ROOT/Library/LaunchDaemons/com.fleetplane.agent.plist"
LOG_FILE="$ROOT/Library/Logs/fleetplane-agent.log"
command -v launchctl >/dev/null 2>&1 || die 'this installer needs launchctl'
${rosettaCheck}
xml() { printf '%s' "$1" | sed -e 's/&/\\&amp;/g' -e 's/</\\&lt;/g' -e 's/>/\\&gt;/g'; }

# Injecting the agent into the Node binary broke its signature: macOS kills unsigned arm64 code,
# so it is signed again, ad hoc. A zip downloaded by a browser is quarantined: the mark is dropped.
prepare_binary() {
  if command -v codesign >/dev/null 2>&1; then
    codesign --force --sign - "$1" || die 'codesign could not sign the agent'
  fi
  if command -v xattr >/dev/null 2>&1; then xattr -d com.apple.quarantine "$1" 2>/dev/null || true; fi
}

install_service() {
  mkdir -p -- "$(dirname -- "$PLIST")" "$(dirname -- "$LOG_FILE")"
  cat > "$PLIST.tmp" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>com.fleetplane.agent</string>
  <key>ProgramArguments</key>
  <array>
    <string>$(xml "$BIN")</string>
    <string>--state-dir</string>
    <string>$(xml "$STATE_DIR")</string>
  </array>
  <key>EnvironmentVariables</key>
  <dict>
    <key>FLEETPLANE_AGENT_SUPERVISED</key>
    <string>1</string>
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <true/>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>StandardOutPath</key>
  <string>$(xml "$LOG_FILE")</string>
  <key>StandardErrorPath</key>
  <string>$(xml "$LOG_FILE")</string>
</dict>
</plist>
EOF
  chmod 0644 "$PLIST.tmp"
  mv -f -- "$PLIST.tmp" "$PLIST"
  # the old definition and binary go, the new ones come
  if [ "$UPGRADE" = 1 ]; then launchctl bootout system/com.fleetplane.agent 2>/dev/null || true; fi
  launchctl bootstrap system "$PLIST"
  launchctl enable system/com.fleetplane.agent
}

uninstall_service() {
  if [ -f "$PLIST" ]; then
    launchctl bootout system/com.fleetplane.agent 2>/dev/null || true
    rm -f -- "$PLIST"
  fi
  rm -f -- "$LOG_FILE"
}
`;
}

/** The Linux installer: a systemd unit, the binary in /opt, the state in /var/lib. */
export function linuxScript(values: InstallerValues): string {
  const system = `Linux ${values.arch} (systemd)`;
  return header(values, system, 'a systemd service') + COMMON + LINUX + INSTALL;
}

/** The macOS installer: a launchd daemon, the binary in /usr/local, signed ad hoc. */
export function darwinScript(values: InstallerValues): string {
  const rosetta = values.arch === 'arm64' && values.servedArch === 'x64';
  const system = `macOS ${values.arch}${rosetta ? ' (the x64 agent, under Rosetta 2)' : ''}`;
  return header(values, system, 'a launchd daemon') + COMMON + darwin(rosetta) + INSTALL;
}
