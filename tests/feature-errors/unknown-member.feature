Feature: an unknown input member is reported at its table cell

  Scenario: unknown member
    Given the world "../../scenarios/worlds/example.yaml"
    When I call CreateKey with:
      | Member  | Value        |
      | Orign   | AWS_CLOUDHSM |
      | KeySpec | SYMMETRIC_DEFAULT |
