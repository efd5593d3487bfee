import { Ajv, type ErrorObject } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import type { FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { isCalendarDate } from '../calendar.ts';
import { HttpError } from './errors.ts';

// ajv-formats is CommonJS: under ESM its function arrives as `default`, sometimes wrapped twice.
type AddFormats = (ajv: Ajv) => Ajv;
const formatsModule = ajvFormats as unknown as { default: AddFormats | { default: AddFormats } };
const addFormats: AddFormats =
  typeof formatsModule.default === 'function' ? formatsModule.default : formatsModule.default.default;

function makeAjv(coerceTypes: boolean): Ajv {
  const ajv = new Ajv({ coerceTypes, removeAdditional: false, useDefaults: true, allErrors: false, strict: false });
  addFormats(ajv);
  // ajv-formats lets year 0000 through, which PostgreSQL refuses: one definition of a date for all.
  ajv.addFormat('date', isCalendarDate);
  return ajv;
}

/**
 * Bodies are checked as sent: no coercion (`"name": 123` is refused) and no silently dropped
 * fields. Query strings and path parameters are text by nature, so they are coerced.
 */
export function installValidation(app: FastifyInstance): void {
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));
  app.setSchemaErrorFormatter(
    (errors, dataVar) =>
      new HttpError(400, describeValidationErrors(errors, dataVar), { code: 'validation_failed', field: fieldToBlame(errors) }),
  );
}

/** One sentence naming the field, e.g. `body.name must be string` or `body has unknown field "x"`. */
export function describeValidationErrors(errors: FastifySchemaValidationError[], dataVar: string): string {
  const error = errors[0] as (FastifySchemaValidationError & Partial<ErrorObject>) | undefined;
  if (!error) return `${dataVar} is invalid`;
  const path = `${dataVar}${error.instancePath.replaceAll('/', '.')}`;
  const params = (error.params ?? {}) as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${path} has unknown field "${String(params.additionalProperty)}"`;
    case 'required':
      return `${path} is missing field "${String(params.missingProperty)}"`;
    default:
      return `${path} ${error.message ?? 'is invalid'}`;
  }
}

/** The top-level field the first error is about: the one named in the path, or missing, or unknown. */
export function fieldToBlame(errors: FastifySchemaValidationError[]): string | undefined {
  const error = errors[0] as (FastifySchemaValidationError & Partial<ErrorObject>) | undefined;
  if (!error) return undefined;
  const [first] = error.instancePath.split('/').filter(Boolean);
  if (first !== undefined) return first;
  const params = (error.params ?? {}) as Record<string, unknown>;
  const named = params.missingProperty ?? params.additionalProperty;
  return typeof named === 'string' ? named : undefined;
}
