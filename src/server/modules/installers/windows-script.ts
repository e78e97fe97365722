import type { InstallerValues } from './platforms.js';
import { psQuote } from './quoting.js';

/*
 * The Windows installer, for Windows PowerShell 5.1 and PowerShell 7, run as a file or piped to
 * Invoke-Expression (the one-line command). The single-file agent is no Windows service program,
 * so a scheduled task starts it at boot as SYSTEM through a small runner that starts it again
 * whenever it exits (self-update relies on that). Everything runs inside a function: piped to
 * Invoke-Expression, the script leaves no variable or preference behind in the caller's session.
 */

const BODY = `
  $ErrorActionPreference = 'Stop'
  Set-StrictMode -Version 2
  $TaskName = 'Fleetplane Agent'
  $Root = $env:FLEETPLANE_INSTALL_ROOT
  if ($Root) {
    $ProgramDir = Join-Path $Root 'Program Files\\Fleetplane Agent'
    $StateDir = Join-Path $Root 'ProgramData\\Fleetplane Agent'
  } else {
    $ProgramDir = Join-Path $env:ProgramFiles 'Fleetplane Agent'
    $StateDir = Join-Path $env:ProgramData 'Fleetplane Agent'
    $identity = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()
    if (-not $identity.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
      throw 'Run this installer in a PowerShell started as administrator.'
    }
  }
  $Exe = Join-Path $ProgramDir 'fleetplane-agent.exe'
  $Runner = Join-Path $ProgramDir 'run-agent.ps1'
  $StateFile = Join-Path $StateDir 'agent.json'

  # Stops the task and the agent it started, if there are.
  function Stop-Agent {
    if (Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue) { Stop-ScheduledTask -TaskName $TaskName }
    Get-Process -Name 'fleetplane-agent' -ErrorAction SilentlyContinue |
      Where-Object { $_.Path -eq $Exe } | Stop-Process -Force
  }

  if ($Uninstall) {
    Stop-Agent
    if (Get-ScheduledTask -TaskName $TaskName -ErrorAction SilentlyContinue) {
      Unregister-ScheduledTask -TaskName $TaskName -Confirm:$false
    }
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue -LiteralPath $ProgramDir, $StateDir
    Write-Host 'fleetplane-agent: the agent, its task and its state are removed'
    return
  }

  $Upgrade = Test-Path -LiteralPath $Exe
  New-Item -ItemType Directory -Force -Path $ProgramDir, $StateDir | Out-Null
  $Download = "$Exe.download"
  if ($AgentUrl) {
    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
    Invoke-WebRequest -UseBasicParsing -Uri $AgentUrl -OutFile $Download
  } else {
    $Beside = Join-Path $PSScriptRoot $AgentFile
    if (-not (Test-Path -LiteralPath $Beside)) { throw "$AgentFile is not beside this script: unpack the whole zip and run the script from there." }
    Copy-Item -Force -LiteralPath $Beside -Destination $Download
  }
  $Actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $Download).Hash.ToLowerInvariant()
  if ($Actual -ne $AgentSha256) {
    Remove-Item -Force -LiteralPath $Download
    throw "The agent's SHA-256 is $Actual, not $AgentSha256: the build changed or the download was damaged; get a new installer."
  }
  if ($Upgrade) { Stop-Agent }
  Move-Item -Force -LiteralPath $Download -Destination $Exe

  # Registers with the enrollment token (the agent's first start), then stops that run: the task
  # starts it for good, and the token is written nowhere.
  $Enrolled = { (Test-Path -LiteralPath $StateFile) -and (Select-String -Quiet -SimpleMatch '"agent_token"' -LiteralPath $StateFile) }
  if (& $Enrolled) {
    Write-Host 'fleetplane-agent: already enrolled: keeping the enrollment'
  } else {
    Write-Host "fleetplane-agent: enrolling with $ServerUrl"
    # One command line, each argument quoted as CommandLineToArgvW reads it back.
    $Line = (@('--server', $ServerUrl, '--token', $EnrollmentToken, '--state-dir', $StateDir) | ForEach-Object {
      '"' + (($_ -replace '(\\\\*)"', '$1$1\\"') -replace '(\\\\+)$', '$1$1') + '"'
    }) -join ' '
    $Process = Start-Process -FilePath $Exe -ArgumentList $Line -NoNewWindow -PassThru
    $Deadline = (Get-Date).AddMinutes(2)
    while (-not (& $Enrolled)) {
      if ($Process.HasExited) { throw 'The agent could not enroll (its message is above): is the enrollment token valid, unexpired and not used up?' }
      if ((Get-Date) -gt $Deadline) { Stop-Process -Force -Id $Process.Id; throw "The agent did not enroll within two minutes: can this machine reach $ServerUrl?" }
      Start-Sleep -Milliseconds 200
    }
    if (-not $Process.HasExited) { Stop-Process -Force -Id $Process.Id }
  }

  # The runner the task starts: the agent again whenever it exits.
  $Quote = { "'" + ($args[0] -replace "'", "''") + "'" }
  Set-Content -Encoding UTF8 -LiteralPath $Runner -Value @(
    '$env:FLEETPLANE_AGENT_SUPERVISED = ''1''',
    'while ($true) {',
    ('  & ' + (& $Quote $Exe) + ' --state-dir ' + (& $Quote $StateDir)),
    '  Start-Sleep -Seconds 5',
    '}'
  )
  $Action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument ('-NoProfile -NonInteractive -ExecutionPolicy Bypass -WindowStyle Hidden -File "' + $Runner + '"')
  $Trigger = New-ScheduledTaskTrigger -AtStartup
  $Principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
  $Settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -StartWhenAvailable -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -MultipleInstances IgnoreNew
  Register-ScheduledTask -TaskName $TaskName -Action $Action -Trigger $Trigger -Principal $Principal -Settings $Settings -Force | Out-Null
  Start-ScheduledTask -TaskName $TaskName
  if ($Upgrade) {
    Write-Host "fleetplane-agent: upgraded to agent $AgentVersion and restarted"
  } else {
    Write-Host "fleetplane-agent: agent $AgentVersion installed, enrolled and started"
  }
}

Install-FleetplaneAgent -Uninstall:$Uninstall
`;

/** The Windows installer: the agent in Program Files, its state in ProgramData, a startup task. */
export function windowsScript(values: InstallerValues): string {
  return `# Fleetplane agent installer for Windows ${values.arch}.
# Installs the agent, runs it at boot as SYSTEM (a scheduled task whose runner starts it again
# whenever it exits), enrolls it with the server and starts it. Run it again to upgrade in place;
# with -Uninstall it removes everything it installed. In a PowerShell run as administrator:
#   powershell -ExecutionPolicy Bypass -File install.ps1 [-Uninstall]
# FLEETPLANE_INSTALL_ROOT (an environment variable) puts every path under that directory.
param([switch]$Uninstall)

function Install-FleetplaneAgent([switch]$Uninstall) {
  $ServerUrl = ${psQuote(values.server)}
  $EnrollmentToken = ${psQuote(values.token)}
  $AgentVersion = ${psQuote(values.version)}
  $AgentSha256 = ${psQuote(values.sha256)}
  # Empty: the executable $AgentFile beside this script is installed (the offline zip).
  $AgentUrl = ${psQuote(values.offline ? '' : values.downloadUrl)}
  $AgentFile = ${psQuote(values.executableName)}
${BODY}`;
}
