/* The socket boundary: the one place untyped socket.io values (`any`) are allowed. */
import { Manager, type ManagerOptions } from "socket.io-client";

/** The part of a socket.io-client Socket the client uses (a fake one in unit tests). */
export interface SocketLike {
  readonly connected: boolean;
  /** false after the server refused the connect: socket.io will not retry on its own then. */
  readonly active: boolean;
  connect(): unknown;
  disconnect(): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener?: (...args: any[]) => void): unknown;
  timeout(ms: number): { emitWithAck(event: string, ...args: any[]): Promise<any> };
}

/** The part of a socket.io-client Manager the client uses. */
export interface ManagerLike {
  socket(namespace: string, options: { auth: (cb: (data: object) => void) => void }): SocketLike;
  on(event: string, listener: (...args: any[]) => void): unknown;
  off(event: string, listener?: (...args: any[]) => void): unknown;
}

export type ManagerFactory = (url: string, options: Partial<ManagerOptions>) => ManagerLike;

/** One Manager: every namespace socket it makes shares its single Engine.IO connection. */
export const socketIoManager: ManagerFactory = (url, options) => new Manager(url, options) as unknown as ManagerLike;
