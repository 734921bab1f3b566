package ai.cory.common.cory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The pure CORY rules of CORY.md section 2. */
final class CoryRulesTest {

  @Test
  void pioneerForPeriodFiveFollowsTheExchangeRule() {
    RoleSchedule t5 = new RoleSchedule(5);
    // exchange after k when (k + 1) % 5 == 0: after iterations 4, 9, 14, ...
    String expected = "AAAAABBBBBAAAAABBBBBAA";
    StringBuilder actual = new StringBuilder();
    for (int k = 0; k < expected.length(); k++) {
      actual.append(t5.pioneerAt(k).name());
      assertEquals((k + 1) % 5 == 0, t5.exchangesAfter(k), "exchange after " + k);
    }
    assertEquals(expected, actual.toString());
    assertEquals(Role.OBSERVER, t5.roleOf(AgentId.A, 7));
    assertEquals(Role.PIONEER, t5.roleOf(AgentId.B, 7));
    assertEquals(2, t5.exchangesBefore(10));
    // the rule and a simulation of the swaps agree for a long run
    AgentId pioneer = AgentId.A;
    for (int k = 0; k < 1000; k++) {
      assertEquals(pioneer, t5.pioneerAt(k), "iteration " + k);
      if (t5.exchangesAfter(k)) {
        pioneer = pioneer.other();
      }
    }
  }

  @Test
  void periodZeroNeverExchanges() {
    RoleSchedule never = new RoleSchedule(0);
    for (int k = 0; k < 100; k++) {
      assertEquals(AgentId.A, never.pioneerAt(k));
      assertFalse(never.exchangesAfter(k));
    }
    assertEquals(AgentId.B, new RoleSchedule(1).pioneerAt(1), "T = 1 alternates every iteration");
    assertThrows(IllegalArgumentException.class, () -> new RoleSchedule(-1));
    assertThrows(IllegalArgumentException.class, () -> new RoleSchedule(5).pioneerAt(-1));
  }

  /** Stand-in agent owning a buffer, to check that an exchange moves no data. */
  private record Owner(String name, double[] weights) {}

  @Test
  void exchangeIsAPointerSwapThatMovesNoWeights() {
    double[] wa = {1, 2, 3};
    double[] wb = {4, 5, 6};
    Owner a = new Owner("A", wa);
    Owner b = new Owner("B", wb);
    AgentSlots<Owner> slots = new AgentSlots<>(a, b);
    assertSame(a, slots.pioneer());
    assertSame(b, slots.observer());
    slots.exchangeRoles();
    assertSame(b, slots.pioneer());
    assertSame(a, slots.observer());
    assertSame(a, slots.agent(AgentId.A), "identity does not follow the role");
    assertSame(wa, slots.agent(AgentId.A).weights(), "the same buffer object");
    assertArrayEquals(new double[] {1, 2, 3}, wa, "contents untouched");
    assertArrayEquals(new double[] {4, 5, 6}, wb);
    assertEquals(AgentId.B, slots.pioneerId());
    assertEquals(Role.OBSERVER, slots.roleOf(AgentId.A));
    assertSame(a, slots.inRole(Role.OBSERVER));
    slots.setPioneer(AgentId.B);
    assertEquals(AgentId.B, slots.pioneerId(), "already B: no swap");
    slots.setPioneer(AgentId.A);
    assertSame(a, slots.pioneer());
    assertThrows(IllegalArgumentException.class, () -> new AgentSlots<>(a, a));
  }

  @Test
  void collectiveRewardIsTheSumForBoth() {
    assertArrayEquals(new double[] {1.5, -1.0, 0.0}, CollectiveReward.sum(new double[] {1, -2, 0.25},
        new double[] {0.5, 1, -0.25}));
    assertThrows(IllegalArgumentException.class, () -> CollectiveReward.sum(new double[2], new double[3]));
  }

  @Test
  void iterationPlanIsAPureFunctionOfSeedAndIteration() {
    RoleSchedule t5 = new RoleSchedule(5);
    Set<Integer> lengths = new HashSet<>();
    for (int k = 0; k < 400; k++) {
      IterationPlan p = IterationPlan.of(42, k, t5, 4, 15);
      assertEquals(p, IterationPlan.of(42, k, t5, 4, 15), "same seed and k -> same plan");
      assertTrue(p.generationLength() >= 4 && p.generationLength() <= 15, "L = " + p.generationLength());
      lengths.add(p.generationLength());
      assertEquals(t5.pioneerAt(k), p.pioneer());
      assertEquals(p.pioneer().other(), p.observer());
      assertEquals(t5.exchangesAfter(k), p.exchangeAfter());
      assertNotEquals(p.pioneerRolloutSeed(), p.observerRolloutSeed());
      assertNotEquals(p.pioneerShuffleSeed(), p.observerShuffleSeed());
    }
    assertEquals(12, lengths.size(), "every L in 4..15 occurs");
    assertNotEquals(IterationPlan.of(42, 3, t5, 4, 15), IterationPlan.of(43, 3, t5, 4, 15));
    assertEquals(7, IterationPlan.of(1, 0, t5, 7, 7).generationLength());
  }
}
