/**
 * Training progress as the worker sends it to the host and the host to the
 * panel. The engine defines the events (it emits them through an injected
 * sink); the protocol carries them as they are.
 */
export * from '../core/experiment/events';
