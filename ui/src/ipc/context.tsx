import { createContext, useContext, type ReactNode } from 'react';
import { Client } from './client';

const ClientContext = createContext<Client | null>(null);

/** Makes `client` the one every component below reaches the manager through. */
export function ClientProvider({ client, children }: { client: Client; children: ReactNode }) {
  return <ClientContext.Provider value={client}>{children}</ClientContext.Provider>;
}

export function useClient(): Client {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useClient outside <ClientProvider>');
  return client;
}
