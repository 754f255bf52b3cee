export {
  DEFAULT_SPIN_US,
  DISABLE_ENV,
  type JoinOptions,
  joinOnRelay,
  type RelayedBytes,
  type RelayedPair,
  relayAvailability,
  SPIN_ENV,
} from './relay.js';
