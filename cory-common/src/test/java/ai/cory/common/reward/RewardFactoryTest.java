package ai.cory.common.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class RewardFactoryTest {
  private static final List<RewardInput> ITEMS = List.of(
      new RewardInput("Q", "answer 12", "#### 12"),
      new RewardInput("Q", "answer 1", "#### 12"));

  @Test
  void builtInAliases() {
    assertEquals(Set.of("bow-sentiment", "gsm8k-exact-match", "weighted-sum"), RewardFactory.builtInNames());
    assertInstanceOf(Gsm8kExactMatchReward.class,
        RewardFactory.create(ConfigFactory.parseString("type = gsm8k-exact-match"), RewardContext.local()));
  }

  @Test
  void userClassByFullyQualifiedName() {
    Config config = ConfigFactory.parseString("per-char = 0.5");
    RewardFunction r = RewardFactory.create(LengthBonusReward.class.getName(), config);
    assertInstanceOf(LengthBonusReward.class, r);
    assertArrayEquals(new double[] {4.5, 4.0}, r.score(ITEMS), 0);
  }

  @Test
  void weightedSumOfBuiltInAndUserRewards() {
    Config config = ConfigFactory.parseString("""
        type = weighted-sum
        components = [
          { type = gsm8k-exact-match, weight = 2.0 }
          { type = ai.cory.common.reward.LengthBonusReward, per-char = 0.1 }
        ]
        """);
    RewardFunction r = RewardFactory.create(config, RewardContext.local());
    // 2 * [1, 0] + 1 * 0.1 * [9, 8]
    assertArrayEquals(new double[] {2.9, 0.8}, r.score(ITEMS), 1e-15);
  }

  /** Set by {@link NotARewardWithStaticCode}'s static initialiser. */
  static final AtomicBoolean STATIC_CODE_RAN = new AtomicBoolean();

  @Test
  void aClassThatIsNoRewardIsRefusedBeforeAnyOfItsCodeRuns() {
    assertMessage("does not implement ai.cory.common.reward.RewardFunction",
        () -> RewardFactory.create("ai.cory.common.reward.NotARewardWithStaticCode", ConfigFactory.empty()));
    assertFalse(STATIC_CODE_RAN.get(), "reward.type ran the static initialiser of a class that is no reward");
  }

  @Test
  void clearErrors() {
    assertMessage("unknown reward 'com.example.Missing': not a built-in",
        () -> RewardFactory.create("com.example.Missing", ConfigFactory.empty()));
    assertMessage("unknown reward 'bow_sentiment'",
        () -> RewardFactory.create("bow_sentiment", ConfigFactory.empty()));
    assertMessage("does not implement ai.cory.common.reward.RewardFunction",
        () -> RewardFactory.create(NotARewardClass.class.getName(), ConfigFactory.empty()));
    assertMessage("needs a public constructor (com.typesafe.config.Config)",
        () -> RewardFactory.create(NoConfigConstructorReward.class.getName(), ConfigFactory.empty()));
    assertMessage("cannot create reward 'ai.cory.common.reward.LengthBonusReward'",
        () -> RewardFactory.create(LengthBonusReward.class.getName(), ConfigFactory.empty()));
    assertMessage("weighted-sum component 1: unknown reward 'nope'", () -> RewardFactory.create(
        ConfigFactory.parseString("type = weighted-sum, components = [{type = gsm8k-exact-match}, {type = nope}]"),
        RewardContext.local()));
    assertMessage("needs at least one component", () -> RewardFactory.create(
        ConfigFactory.parseString("type = weighted-sum, components = []"), RewardContext.local()));
  }

  @Test
  void weightedSumChecksComponentOutputLength() {
    WeightedSumReward r = new WeightedSumReward(List.of(new WeightedSumReward.Term(items -> new double[1], 1.0)));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.score(ITEMS));
    assertTrue(e.getMessage().contains("returned 1 scores for 2 items"), e.getMessage());
  }

  private static void assertMessage(String part, Runnable r) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage().contains(part), e.getMessage());
  }
}
