export interface RelayAddon {
  start(
    spinMicros: number,
    onClosed: (id: number, bytesToCaller: number, bytesToMachine: number) => void,
  ): void;
  join(callerFd: number, machineFd: number, firstToCaller?: Buffer, firstToMachine?: Buffer): number;
  close(id: number, lastToCaller?: Buffer): void;
}
export declare function loadRelayAddon(): RelayAddon;
