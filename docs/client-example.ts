/**
 * A typed Cheershare client, written the way docs/api-client.md says: openapi-fetch with the types
 * openapi-typescript generates from the server's OpenAPI document (/docs/json) into
 * `cheershare-api.d.ts` beside this file. CI generates them from the live document, type-checks
 * this file against them and runs it against a server (test/process/openapi-client.test.ts), so a document
 * change that would break an app's generated client fails the build.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './cheershare-api';

export type User = components['schemas']['User'];
export type Creative = components['schemas']['Creative'];
export type ErrorBody = components['schemas']['Error'];

/** A refusal from the API. Switch on `code`; the message is for people. */
export class CheershareError extends Error {
  readonly status: number;
  readonly code: ErrorBody['code'];
  readonly field: string | undefined;

  constructor(status: number, body: ErrorBody) {
    super(body.error);
    this.status = status;
    this.code = body.code;
    this.field = body.field;
  }
}

/** The body of a success; a refusal thrown as a CheershareError (openapi-fetch sets one of the two). */
function unwrap<T>(result: { data?: T; error?: ErrorBody; response: Response }): T {
  if (result.error !== undefined) throw new CheershareError(result.response.status, result.error);
  return result.data as T;
}

/** openapi-typescript types a `format: binary` field as a string; FormData sends the Blob itself. */
const binary = (file: Blob) => file as unknown as string;

export function cheershareClient(baseUrl: string) {
  const api = createClient<paths>({ baseUrl });
  let token: string | undefined;
  api.use({
    onRequest({ request }) {
      if (token) request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
  });

  return {
    /** Asks for a code by SMS, then verifies the one `askForCode` returns; later calls carry the token. */
    async signIn(name: string, phoneNumber: string, askForCode: () => Promise<string>): Promise<User> {
      unwrap(await api.POST('/signup', { body: { name, phone_number: phoneNumber } }));
      const otp = await askForCode();
      const signedIn = unwrap(await api.POST('/signup', { body: { phone_number: phoneNumber, otp } }));
      if (!('token' in signedIn)) throw new Error('the server verified the code but issued no token');
      token = signedIn.token;
      return signedIn.data;
    },

    /** Uploads an image for `scheduledAt` (YYYY-MM-DD, from today in the server's zone). */
    async upload(image: Blob, fileName: string, scheduledAt: string): Promise<Creative> {
      const created = unwrap(
        await api.POST('/upload-creative', {
          body: { file: binary(image), scheduled_at: scheduledAt },
          bodySerializer(body) {
            const form = new FormData();
            form.append('scheduled_at', body.scheduled_at);
            form.append('file', image, fileName);
            return form;
          },
        }),
      );
      return created.creative;
    },

    /** Everyone's creatives for today and tomorrow in `timeZone` (the server's zone by default). */
    async feed(timeZone?: string): Promise<{ today: Creative[]; tomorrow: Creative[] }> {
      const feed = unwrap(await api.GET('/scheduled', { params: { query: { tz: timeZone } } }));
      return feed.scheduled_creatives;
    },

    async signOut(): Promise<void> {
      unwrap(await api.POST('/logout', { params: { query: {} } }));
      token = undefined;
    },
  };
}
