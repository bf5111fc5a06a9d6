export interface Measurement {
  name: string;
  median: number;
  p99: number;
  runs: number;
  unit?: string;
  target?: string;
}

export function summarise(samples: number[]): Omit<Measurement, 'name'> {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { median: at(0.5), p99: at(0.99), runs: samples.length, unit: 'ms' };
}

export function report(measurement: Measurement): void {
  const unit = measurement.unit ?? 'ms';
  const target = measurement.target ? `  [target: ${measurement.target}]` : '';
  if (measurement.runs === 1 && measurement.median === measurement.p99) {
    const value = Number.isInteger(measurement.median) ? String(measurement.median) : measurement.median.toFixed(1);
    console.log(`${measurement.name}\n  ${value} ${unit}${target}`);
    return;
  }
  console.log(
    `${measurement.name}\n  median ${measurement.median.toFixed(3)} ${unit}, p99 ${measurement.p99.toFixed(3)} ${unit} over ${measurement.runs} runs` +
      (measurement.target ? `  [target: ${measurement.target}]` : ''),
  );
}
