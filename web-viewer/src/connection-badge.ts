/** The socket's state as the header shows it; `data-state` is what styles and tests read. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export class ConnectionBadge {
  constructor(private readonly el: HTMLElement) {}

  set(state: ConnectionState, text: string): void {
    this.el.dataset['state'] = state;
    this.el.textContent = text;
  }
}
