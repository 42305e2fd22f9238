// Agent attributes (WIRE §3 "Attribute"; Mesos `Attributes::parse` in src/common/attributes.cpp):
// the --attributes flag 'rack:r12;gen:3;slots:[1-4]' and their legacy JSON summary (WIRE §7.1).
import { type Attribute, assertNever, BadRequestError } from '../wire/index.js';
import { formatRanges } from './ranges.js';
import { formatItems } from './sets.js';
import { parseValueText, ValueTextError } from './value-text.js';

function bad(reason: string, cause?: unknown): BadRequestError {
  return new BadRequestError('attributes', reason, cause === undefined ? undefined : { cause });
}

/**
 * Parses 'name:value;…' into SCALAR ('gen:3'), RANGES ('slots:[1-4]') or TEXT ('rack:r12')
 * attributes, in order. The value is everything after the first ':', so 'host:a:b' is TEXT
 * 'a:b'. Sets are rejected, as Mesos does. Throws BadRequestError('attributes', reason).
 */
export function parseAttributes(text: string): Attribute[] {
  const attributes: Attribute[] = [];
  for (const part of text.split(';')) {
    const token = part.trim();
    if (token === '') continue;
    const colon = token.indexOf(':');
    if (colon < 0) throw bad(`'${token}' lacks ':' between name and value`);
    const name = token.slice(0, colon).trim();
    const valueText = token.slice(colon + 1).trim();
    if (name === '') throw bad(`'${token}' has an empty attribute name`);
    if (valueText === '') throw bad(`'${token}' has an empty value`);
    let value: ReturnType<typeof parseValueText>;
    try {
      value = parseValueText(valueText);
    } catch (error) {
      if (error instanceof ValueTextError) throw bad(`${error.message} in '${token}'`, error);
      throw error;
    }
    switch (value.kind) {
      case 'scalar':
        attributes.push({ name, type: 'SCALAR', scalar: { value: value.value } });
        break;
      case 'ranges':
        attributes.push({ name, type: 'RANGES', ranges: { range: value.ranges } });
        break;
      case 'set':
        throw bad(`'${token}' is a set, which attributes cannot be`);
      case 'text':
        attributes.push({ name, type: 'TEXT', text: { value: value.value } });
        break;
      default:
        assertNever(value);
    }
  }
  return attributes;
}

/**
 * The flat legacy JSON form, `{"rack":"r12","gen":3,"slots":"[1-4]"}`: TEXT as its string,
 * SCALAR as its number, RANGES as '[b-e, …]' and SET as '{a, b}'. A repeated name keeps its
 * last value.
 */
export function summarizeAttributes(attrs: readonly Attribute[]): Record<string, string | number> {
  const summary: Record<string, string | number> = {};
  for (const attribute of attrs) {
    switch (attribute.type) {
      case 'SCALAR':
        summary[attribute.name] = attribute.scalar?.value ?? 0;
        break;
      case 'RANGES':
        summary[attribute.name] = formatRanges(attribute.ranges?.range ?? [], ', ');
        break;
      case 'SET':
        summary[attribute.name] = formatItems(attribute.set?.item ?? [], ', ');
        break;
      case 'TEXT':
        summary[attribute.name] = attribute.text?.value ?? '';
        break;
      default:
        assertNever(attribute.type);
    }
  }
  return summary;
}
