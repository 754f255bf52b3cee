/**
 * EC2 instances as Kloud sees them: state names mapped to Kloud's machine states, and the
 * facts kept in Machine.meta. Also the tags that mark an instance as Kloud's.
 */
import type { Instance, InstanceStateName } from '@aws-sdk/client-ec2';
import type { InstanceInfo, ProviderState, TaggedInstance } from '../provider.js';

/** The tag holding Kloud's machine id; the reconciler finds Kloud's instances by it. */
export const machineIdTag = 'kloud:machine-id';

const states: Record<InstanceStateName, ProviderState> = {
  pending: 'Starting',
  running: 'Running',
  stopping: 'Stopping',
  stopped: 'Stopped',
  'shutting-down': 'Terminating',
  terminated: 'Terminated',
};

export function kloudState(name: string | undefined): ProviderState {
  return states[name as InstanceStateName] ?? 'Unknown';
}

export function instanceInfo(instance: Instance, region: string): InstanceInfo {
  const meta: Record<string, unknown> = {
    region,
    instanceType: instance.InstanceType,
    availabilityZone: instance.Placement?.AvailabilityZone,
    imageId: instance.ImageId,
    privateIpAddress: instance.PrivateIpAddress,
    publicIpAddress: instance.PublicIpAddress,
    launchTime: instance.LaunchTime?.toISOString(),
  };
  if (instance.StateReason?.Message) meta.stateReason = instance.StateReason.Message;
  for (const key of Object.keys(meta)) if (meta[key] === undefined) delete meta[key];
  return {
    instanceId: instance.InstanceId!,
    state: kloudState(instance.State?.Name),
    ipAddress: instance.PublicIpAddress ?? instance.PrivateIpAddress,
    meta,
  };
}

export function taggedInstance(instance: Instance, region: string): TaggedInstance {
  const machineId = instance.Tags?.find((t) => t.Key === machineIdTag)?.Value;
  return { ...instanceInfo(instance, region), ...(machineId ? { machineId } : {}) };
}

/** The tags every Kloud instance carries. */
export function instanceTags(machineId: string, label: string): { Key: string; Value: string }[] {
  return [
    { Key: 'Name', Value: label },
    { Key: machineIdTag, Value: machineId },
  ];
}
