/**
 * The two wire formats of the EC2 Query API, for the test server: form-encoded requests with
 * numbered lists (`InstanceId.1=…`, `Filter.1.Value.2=…`) and XML responses whose lists are
 * `<xxxSet><item>…</item></xxxSet>`.
 */

/** A request's parameters, with helpers for EC2's numbered lists. */
export class QueryParams {
  constructor(readonly raw: URLSearchParams) {}

  get(name: string): string | undefined {
    return this.raw.get(name) ?? undefined;
  }

  /** `Name.1`, `Name.2` … in order. */
  list(name: string): string[] {
    const out: string[] = [];
    for (let i = 1; this.raw.has(`${name}.${i}`); i++) out.push(this.raw.get(`${name}.${i}`)!);
    return out;
  }

  /** `Prefix.1.*`, `Prefix.2.*` … as nested parameter views. */
  structs(prefix: string): QueryParams[] {
    const out: QueryParams[] = [];
    for (let i = 1; ; i++) {
      const head = `${prefix}.${i}.`;
      const sub = new URLSearchParams();
      for (const [key, value] of this.raw)
        if (key.startsWith(head)) sub.append(key.slice(head.length), value);
      if ([...sub.keys()].length === 0) return out;
      out.push(new QueryParams(sub));
    }
  }

  /** `Filter.N.Name` / `Filter.N.Value.M` as a map from filter name to accepted values. */
  filters(): Map<string, string[]> {
    return new Map(this.structs('Filter').map((f) => [f.get('Name') ?? '', f.list('Value')]));
  }
}

export type XmlValue = string | number | boolean | undefined | XmlValue[] | { [key: string]: XmlValue };

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function element(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return `<${name}>${value.map((v) => element('item', v)).join('')}</${name}>`;
  if (typeof value === 'object') {
    return `<${name}>${Object.entries(value)
      .map(([k, v]) => element(k, v))
      .join('')}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** A success response: `<ActionResponse xmlns=…><requestId/>…</ActionResponse>`. */
export function responseXml(action: string, requestId: string, body: Record<string, XmlValue>): string {
  const inner =
    element('requestId', requestId) +
    Object.entries(body)
      .map(([k, v]) => element(k, v))
      .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">${inner}</${action}Response>`;
}

/** EC2's error document. */
export function errorXml(code: string, message: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
}

/** Matches EC2 filter values, where `*` and `?` are wildcards. */
export function wildcardMatch(pattern: string, value: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(value);
}

/** A resource's tags as EC2 lists them. */
export const tagSet = (tags: Map<string, string>) => [...tags].map(([key, value]) => ({ key, value }));

export function tagsFor(params: QueryParams, resourceType: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const spec of params.structs('TagSpecification')) {
    if (spec.get('ResourceType') !== resourceType) continue;
    for (const tag of spec.structs('Tag')) tags.set(tag.get('Key') ?? '', tag.get('Value') ?? '');
  }
  return tags;
}
