import { describe, expect, it } from 'vitest';
import { type GraphLayout, layoutGraph } from '../../renderer/src/components/graph-layout.ts';

const node = (id: string, partition: number) => ({ id, partition, width: 180, height: 60 });
const edge = (from: string, to: string) => ({ id: `${from}->${to}`, from, to });

describe('the pipeline graph layout', () => {
  it('keeps every model in its layer band, models with no inputs or readers included', async () => {
    const layout = await layoutGraph(
      [
        node('bronze.events', 0),
        node('silver.events', 1),
        node('silver.lonely', 1),
        node('gold.fact', 2),
        node('gold.dim', 2),
        // A lookup table built from VALUES: no input, no reader.
        node('gold.calendar', 2),
      ],
      [
        edge('bronze.events', 'silver.events'),
        edge('silver.events', 'gold.dim'),
        edge('gold.dim', 'gold.fact'),
      ],
    );
    const band = (partition: number) => {
      const placed = [...layout.nodes.values()].filter((n) => n.partition === partition);
      return {
        left: Math.min(...placed.map((n) => n.x)),
        right: Math.max(...placed.map((n) => n.x + n.width)),
      };
    };
    const [bronze, silver, gold] = [band(0), band(1), band(2)];
    expect(silver.left).toBeGreaterThan(bronze.right);
    expect(gold.left).toBeGreaterThan(silver.right);
    expect(layout.nodes.size).toBe(6);
  });
});

// The customer-search example's models and what each reads, in the order project.info lists them.
const EXAMPLE: Record<string, string[]> = {
  'bronze.customer_search': [],
  'silver.keyword_match': ['bronze.customer_search'],
  'silver.customer_search': ['bronze.customer_search', 'silver.keyword_match'],
  'silver.user_plans_map': ['bronze.customer_search', 'silver.customer_search'],
  'gold.dim_category': ['silver.customer_search'],
  'gold.dim_date': ['silver.customer_search'],
  'gold.dim_network': ['silver.customer_search'],
  'gold.dim_platform': ['silver.customer_search'],
  'gold.dim_subscription': ['silver.user_plans_map'],
  'gold.dim_user': ['silver.customer_search'],
  'gold.dim_user_history': ['silver.customer_search', 'silver.user_plans_map'],
  'gold.bridge_user_plan': [
    'gold.dim_subscription',
    'gold.dim_user',
    'silver.customer_search',
    'silver.user_plans_map',
  ],
  'gold.fact_customer_search': [
    'gold.dim_category',
    'gold.dim_date',
    'gold.dim_network',
    'gold.dim_platform',
    'gold.dim_user',
    'silver.customer_search',
  ],
};
const LAYERS = ['bronze', 'silver', 'gold'];
// The pipeline view's label box: five characters (1,234) at 11px.
const LABEL = { width: 45, height: 17 };

interface Rect {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Each label box that overlaps another label or a card, and each label not centred on its edge. */
function labelProblems(layout: GraphLayout): string[] {
  const labels: Rect[] = [...layout.labels].map(([id, c]) => ({
    id,
    ...LABEL,
    x: c.x - LABEL.width / 2,
    y: c.y - LABEL.height / 2,
  }));
  const cards: Rect[] = [...layout.nodes.values()];
  const overlap = (a: Rect, b: Rect) =>
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  const clashes = labels.flatMap((label, i) =>
    [...labels.slice(i + 1), ...cards].filter((o) => overlap(label, o)).map((o) => `${label.id} on ${o.id}`),
  );
  const offEdge = layout.edges
    .filter((e) => {
      const c = layout.labels.get(e.id);
      return !c || distanceToPolyline(c, e.points) > 0.5;
    })
    .map((e) => `${e.id}: label off its edge`);
  return [...clashes, ...offEdge];
}

function distanceToPolyline(p: { x: number; y: number }, points: { x: number; y: number }[]): number {
  return Math.min(
    ...points.slice(1).map((b, i) => {
      const a = points[i]!;
      const length = (b.x - a.x) ** 2 + (b.y - a.y) ** 2;
      const t =
        length === 0
          ? 0
          : Math.max(0, Math.min(1, ((p.x - a.x) * (b.x - a.x) + (p.y - a.y) * (b.y - a.y)) / length));
      return Math.hypot(p.x - (a.x + t * (b.x - a.x)), p.y - (a.y + t * (b.y - a.y)));
    }),
  );
}

describe('edge labels in the pipeline graph layout', () => {
  it('sit on their edges, apart from each other and off every card, where the fact fans in', async () => {
    // The listed order, and others (ELK's layout, so where edges crowd, follows the input's order).
    const ids = Object.keys(EXAMPLE);
    for (const order of [ids, [...ids].reverse(), [...ids].sort()]) {
      const layout = await layoutGraph(
        order.map((id) => node(id, LAYERS.indexOf(id.split('.')[0] ?? ''))),
        order.flatMap((to) => (EXAMPLE[to] ?? []).map((from) => edge(from, to))),
        LABEL,
      );
      expect(layout.labels.size, order[0]).toBe(23);
      expect(labelProblems(layout), order[0]).toEqual([]);
      // Room made for the labels keeps every layer in its band, and the edges on their cards' sides.
      const right = (layer: string) =>
        Math.max(
          ...[...layout.nodes.values()].filter((n) => n.id.startsWith(layer)).map((n) => n.x + n.width),
        );
      const left = (layer: string) =>
        Math.min(...[...layout.nodes.values()].filter((n) => n.id.startsWith(layer)).map((n) => n.x));
      expect(left('silver')).toBeGreaterThan(right('bronze'));
      expect(left('gold')).toBeGreaterThan(right('silver'));
      for (const e of layout.edges) {
        const to = layout.nodes.get(e.to)!;
        expect(e.points.at(-1)?.x, e.id).toBeCloseTo(to.x);
      }
      expect(layout.width).toBeGreaterThanOrEqual(
        Math.max(...[...layout.nodes.values()].map((n) => n.x + n.width)),
      );
    }
  });

  it('makes room for the labels of ten models fanning into one', async () => {
    const dims = Array.from({ length: 10 }, (_, i) => `gold.dim_${i}`);
    const layout = await layoutGraph(
      [node('silver.events', 1), ...dims.map((d) => node(d, 2)), node('gold.fact', 2)],
      [
        ...dims.map((d) => edge('silver.events', d)),
        ...dims.map((d) => edge(d, 'gold.fact')),
        edge('silver.events', 'gold.fact'),
      ],
      LABEL,
    );
    expect(layout.labels.size).toBe(21);
    expect(labelProblems(layout)).toEqual([]);
  });
});
