/** Placeholder shell until the desktop-app issue: points users at the command line, which is complete. */
export function App() {
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', padding: 24, maxWidth: 720 }}>
      <h1>Lakehouse Explorer</h1>
      <p>
        The pipeline engine runs from the command line today: <code>npx lakehouse demo</code> builds the
        example bronze, silver and gold tables;{' '}
        <code>npx lakehouse query demo "SELECT * FROM fact_customer_search"</code> reads them. The interactive
        views come next.
      </p>
    </main>
  );
}
