import nodemailer from 'nodemailer';
import type { Logger } from '../../lib/logger.js';
import type { SettingsService } from '../settings/settings.service.js';

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/**
 * Sends mail by the instance's SMTP settings; without them the message goes to the server log.
 * Mail comes from the instance by name (`general.instance_name`): the sender's name and the
 * subject's prefix, so a reader with several instances knows which one wrote.
 */
export class Mailer {
  readonly #settings: SettingsService;
  readonly #logger: Logger;

  constructor(deps: { settings: SettingsService; logger: Logger }) {
    this.#settings = deps.settings;
    this.#logger = deps.logger;
  }

  async send(mail: Mail): Promise<void> {
    const [email, { instance_name: name }] = await Promise.all([
      this.#settings.readInstance('email'),
      this.#settings.readInstance('general'),
    ]);
    const subject = `[${name}] ${mail.subject}`;
    if (!email.smtp_host) {
      this.#logger.info(
        { mail: { ...mail, subject, from: `${name} <${email.from_address}>` } },
        'SMTP is not configured: the message is written here instead of sent',
      );
      return;
    }
    const transport = nodemailer.createTransport({
      host: email.smtp_host,
      port: email.smtp_port,
      secure: email.smtp_secure,
      ...(email.smtp_user ? { auth: { user: email.smtp_user, pass: email.smtp_password } } : {}),
    });
    await transport.sendMail({
      from: { name, address: email.from_address },
      to: mail.to,
      subject,
      text: mail.text,
    });
  }
}
