import { describe, expect, it } from 'vitest';
import { layoutGraph } from '../../renderer/src/components/graph-layout.ts';

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
