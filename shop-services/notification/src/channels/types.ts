/** Where a notification goes. `in_app` is a row in our own database, written with the event's claim. */
export type ChannelName = 'email' | 'sms' | 'in_app';
export const CHANNELS = ['email', 'sms', 'in_app'] as const satisfies readonly ChannelName[];

/** An email as stored on its delivery row (rendered when the event was claimed). */
export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface SmsMessage {
  to: string;
  text: string;
}

export interface SendResult {
  /** The provider's id for the message (SMTP: the Message-ID; SMS: the provider's message id). */
  providerMessageId?: string;
}

/**
 * A channel that sends outside our database. `key` identifies the delivery (event id + channel): the
 * same key is used on every attempt, so a provider that deduplicates by it sends once.
 */
export interface Channel<M> {
  readonly name: Exclude<ChannelName, 'in_app'>;
  send(message: M, key: string): Promise<SendResult>;
  close?(): Promise<void> | void;
}

/** Worth another attempt later: SMTP 4xx, connection refused or reset, timeouts, a provider hiccup. */
export class TransientDeliveryError extends Error {
  readonly transient = true;
  constructor(message: string, readonly responseCode?: number) {
    super(message);
    this.name = 'TransientDeliveryError';
  }
}

/** Will not get better by retrying: SMTP 5xx (bad mailbox, policy), an invalid phone number. */
export class PermanentDeliveryError extends Error {
  readonly transient = false;
  constructor(message: string, readonly responseCode?: number) {
    super(message);
    this.name = 'PermanentDeliveryError';
  }
}
