import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';

/**
 * The raw baseline of the reminders bench, in a process of its own as the worker is: it gets the
 * SMTP port and the finished messages over IPC, says `ready`, and on `go` sends them all through
 * one nodemailer pool (5 connections, like SMTP_URL's) before it exits.
 */
interface Orders {
  port: number;
  messages: Mail.Options[];
}

const orders = await new Promise<Orders>((resolve) => process.once('message', (message) => resolve(message as Orders)));
const transport = nodemailer.createTransport({ host: '127.0.0.1', port: orders.port, secure: false, pool: true, maxConnections: 5, maxMessages: 500 });
process.send!('ready');
await new Promise((resolve) => process.once('message', resolve));
await Promise.all(orders.messages.map((mail) => transport.sendMail(mail)));
transport.close();
process.disconnect();
