import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import App from './App';
import { Client, HttpTransport, inDesktopApp, TauriTransport } from './ipc';
import './index.css';

// The desktop app's shell, or the manager's web server: the same UI over either.
const client = new Client(inDesktopApp() ? new TauriTransport() : new HttpTransport());

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <App client={client} />
  </StrictMode>,
);
