import { Type } from '@sinclair/typebox';
import { API_KEY_NAME_MAX_LENGTH } from '../../services/api-keys.service.js';
import { Nullable } from '../schemas.js';

export const NewApiKeyBody = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: API_KEY_NAME_MAX_LENGTH,
      description: 'what the key is for, such as the integration using it; not blank (spaces around it are dropped)',
    }),
  },
  { additionalProperties: false },
);

const listed = {
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  prefix: Type.String({ description: 'the first 12 characters of the key, to tell keys apart' }),
  createdAt: Type.String({ format: 'date-time' }),
};

export const ApiKeySchema = Type.Object({
  ...listed,
  lastUsedAt: Nullable(Type.String({ format: 'date-time' }), { description: 'the last request made with the key, to the minute; null before the first' }),
});

export const NewApiKeySchema = Type.Object({
  id: listed.id,
  name: listed.name,
  key: Type.String({
    description: 'the key: `cvk_` and the base64url of 32 random bytes. Shown this once (only its hash is stored): send it as `Authorization: Bearer cvk_...`',
  }),
  prefix: listed.prefix,
  createdAt: listed.createdAt,
});
