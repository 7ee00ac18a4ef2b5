import type { PlanStep } from '@rk/native';
import type { MountPlan } from './types.js';

/** Collects steps with a description of each. */
export class PlanBuilder {
  readonly steps: PlanStep[] = [];
  private readonly why: string[] = [];

  add(step: PlanStep, why: string): this {
    this.steps.push(step);
    this.why.push(why);
    return this;
  }

  /** Adds every step of `other`, with its descriptions. */
  append(other: PlanBuilder): this {
    other.steps.forEach((s, i) => this.add(s, other.why[i]!));
    return this;
  }

  build(): MountPlan {
    const { steps, why } = this;
    return {
      steps,
      describe: (i: number) => (i >= 0 && i < steps.length ? `step ${i + 1}/${steps.length}: ${why[i]}` : `step ${i}`),
    };
  }
}
