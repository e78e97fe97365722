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
      const opened = await assets.openForJob(orgId, robotId, assetNames);
      let runAsUser: string | null = null;
      if (robot.credential_asset_id) {
        const credential = await assets.get(orgId, robot.credential_asset_id);
        const value = (await assets.openForJob(orgId, robotId, [credential.name]))[credential.name]?.value;
        runAsUser =
          typeof value === 'object' && value !== null && 'username' in value ? String(value.username) : null;
      }
      return {
        robot_name: robot.name,
        run_as_user: runAsUser,
        assets: Object.fromEntries(Object.entries(opened).map(([name, asset]) => [name, asset.value])),
      };
    },
  };
}
