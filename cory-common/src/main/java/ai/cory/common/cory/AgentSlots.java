package ai.cory.common.cory;

import java.util.Objects;

/**
 * The two agents of a CORY run held in their current role slots. A role exchange
 * ({@link #exchangeRoles()}) swaps the two references: no weight, optimizer state or buffer is
 * copied (ARCHITECTURE.md decision 6), unlike the authors' code, which saves and reloads the
 * models crosswise. Not thread-safe: owned by the training loop.
 *
 * @param <T> the agent type (the worker's trainable agent; anything in tests)
 */
public final class AgentSlots<T> {
  private final T agentA;
  private final T agentB;
  private T pioneer;
  private T observer;

  /** A is the pioneer, B the observer (iteration 0). */
  public AgentSlots(T agentA, T agentB) {
    this.agentA = Objects.requireNonNull(agentA, "agentA");
    this.agentB = Objects.requireNonNull(agentB, "agentB");
    if (agentA == agentB) {
      throw new IllegalArgumentException("agents A and B must be distinct objects");
    }
    this.pioneer = agentA;
    this.observer = agentB;
  }

  /** The agent in the pioneer slot. */
  public T pioneer() {
    return pioneer;
  }

  /** The agent in the observer slot. */
  public T observer() {
    return observer;
  }

  /** The agent in {@code role}'s slot. */
  public T inRole(Role role) {
    return role == Role.PIONEER ? pioneer : observer;
  }

  /** Agent A or B by identity (independent of roles). */
  public T agent(AgentId id) {
    return id == AgentId.A ? agentA : agentB;
  }

  /** Identity of the current pioneer. */
  public AgentId pioneerId() {
    return pioneer == agentA ? AgentId.A : AgentId.B;
  }

  /** The role {@code id} holds now. */
  public Role roleOf(AgentId id) {
    return agent(id) == pioneer ? Role.PIONEER : Role.OBSERVER;
  }

  /** Swaps the two slots (a pointer swap). */
  public void exchangeRoles() {
    T t = pioneer;
    pioneer = observer;
    observer = t;
  }

  /** Puts {@code id} in the pioneer slot (e.g. when resuming at an iteration of the schedule). */
  public void setPioneer(AgentId id) {
    if (pioneerId() != id) {
      exchangeRoles();
    }
  }
}
