Feature: a value that does not parse is reported at its character

  Scenario: bad list in a table
    Given the world "../../scenarios/worlds/example.yaml"
    When I call CreateCluster with:
      | Member    | Value                               |
      | HsmType   | hsm2m.medium                        |
      | SubnetIds | [subnet-0123abcd01 subnet-0123abcd02 |
