// All I/O of the UI: the typed client, its transports and the API's types.
export { Client } from './client';
export { ClientProvider, useClient } from './context';
export { ApiError, type ErrorCode } from './errors';
export { HttpTransport, type HttpTransportOptions } from './http';
export { inDesktopApp, TauriTransport } from './tauri';
export { SeqGate, type SubscriptionHandlers, type Transport, type Unsubscribe } from './transport';
export * from './types';
