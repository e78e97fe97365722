import type { AssetsService } from '../assets/assets.service.js';
import type { RobotSeats } from '../execution/jobs.process.js';
import type { RobotsService } from '../robots/robots.service.js';

/**
 * The robots and assets modules, as the execution engine asks for them (RobotSeats): an agent's
 * idle robots, seating a robot on a job and freeing it, and what a robot's job opens — the OS
 * user its credential asset names, and the assets its process declares.
 */
export function robotSeats(deps: { robots: () => RobotsService; assets: () => AssetsService }): RobotSeats {
  return {
    async idleOnAgent(agentId) {
      const robots = await deps.robots().robotsOnAgent(agentId);
      return robots.filter((robot) => robot.status === 'online' && robot.current_job_id === null);
    },
    async agentsFor(orgId, robotPool) {
      const robots = await deps.robots().eligibleRobots(orgId, robotPool);
      return [...new Set(robots.flatMap((robot) => (robot.agent_id ? [robot.agent_id] : [])))];
    },
    occupy: (orgId, robotId, jobId) => deps.robots().markBusy(orgId, robotId, jobId),
    release: (orgId, robotId, jobId) => deps.robots().markIdle(orgId, robotId, jobId),
    async open(orgId, robotId, assetNames) {
      const robot = await deps.robots().get(orgId, robotId);
      const assets = deps.assets();
      // the robot's credential is opened with the declared assets, in one read
      const credential = robot.credential_asset_id
        ? (await assets.get(orgId, robot.credential_asset_id)).name
        : undefined;
      const opened = await assets.openForJob(
        orgId,
        robotId,
        credential ? [...assetNames, credential] : assetNames,
      );
      const login = credential === undefined ? undefined : opened[credential]?.value;
      return {
        robot_name: robot.name,
        run_as_user:
          typeof login === 'object' && login !== null && 'username' in login ? String(login.username) : null,
        assets: Object.fromEntries(
          assetNames.flatMap((name) => (opened[name] ? [[name, opened[name].value]] : [])),
        ),
      };
    },
  };
}
