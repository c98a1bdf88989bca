@R8
Feature: R8. Logging in as kmsuser
  docs/runbooks.md, R8 (translated from scenarios/r8-login-as-kmsuser.runbook).
  Disconnect first: while the store is connected, KMS is logged in to the
  cluster as kmsuser, which keeps anyone else from logging in as it or changing
  its password. Then: login --username admin --role admin; user change-password
  sets kmsuser's password to a known value (7 to 32 alphanumeric characters,
  case-sensitive, no special characters); login --username kmsuser --role
  crypto-user.

  Background:
    Given the world "../scenarios/worlds/example.yaml"

  Scenario: while the store is connected, nobody can change kmsuser's password
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    When I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg" as "admin"
    And I run "user change-password --username kmsuser --role crypto-user --password newPass123" on cluster "cluster-1a23b4cdefg" as "admin"
    Then the CloudHSM CLI reports an error containing "logged in"
    # Nothing changed: KMS keeps working.
    When I encrypt "unaffected" with "alias/app"
    Then it succeeds

    # Once disconnected, the same command works.
    When I disconnect the custom key store "ExampleKeyStore"
    And I run "user change-password --username kmsuser --role crypto-user --password newPass123" on cluster "cluster-1a23b4cdefg" as "admin"
    Then the response has "error_code" equal to "0"
    And the response has "data.username" equal to "kmsuser"
    And the response has "data.role" equal to "crypto-user"

  Scenario: while the store is connected, nobody can log in as kmsuser
    # KMS logged in as kmsuser and rotated its password when it connected, so
    # the password the cluster was set up with no longer works, and the
    # operator knows none that does.
    When I run "login --username kmsuser --role crypto-user --password kmsPassword1" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the CloudHSM CLI reports an error containing "Invalid username or password"
    # KMS is unaffected.
    When I encrypt "unaffected" with "alias/app"
    Then it succeeds

    # The documented way in: disconnect, reset the password as admin, log in.
    When I disconnect the custom key store "ExampleKeyStore"
    And an admin sets kmsuser's password on cluster "cluster-1a23b4cdefg" to "knownPass1"
    And I run "login --username kmsuser --role crypto-user --password knownPass1" on cluster "cluster-1a23b4cdefg" as "kms"
    Then the response has "data.username" equal to "kmsuser"

  Scenario: after disconnecting, the documented sequence logs in as kmsuser
    When I disconnect the custom key store "ExampleKeyStore"
    Then the ConnectionState of "ExampleKeyStore" is DISCONNECTED

    When I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg"
    Then the response has "error_code" equal to "0"
    And the response has "data.username" equal to "admin"
    And the response has "data.role" equal to "admin"
    When I run "user change-password --username kmsuser --role crypto-user --password knownPass1" on cluster "cluster-1a23b4cdefg"
    Then the response has "error_code" equal to "0"
    And the response has "data.username" equal to "kmsuser"
    And the response has "data.role" equal to "crypto-user"
    When I run "logout" on cluster "cluster-1a23b4cdefg"
    Then the response has "data" equal to "Logout successful"

    # Passwords are case-sensitive.
    When I run "login --username kmsuser --role crypto-user --password KNOWNPASS1" on cluster "cluster-1a23b4cdefg"
    Then the CloudHSM CLI reports an error containing "Invalid username or password"
    When I run "login --username kmsuser --role crypto-user --password knownPass1" on cluster "cluster-1a23b4cdefg"
    Then the response has "error_code" equal to "0"
    And the response has "data.username" equal to "kmsuser"
    And the response has "data.role" equal to "crypto-user"

    # Logged in as kmsuser, the operator sees the keys KMS made: each HSM key
    # is labelled with its KMS key ARN.
    When I run "key list --filter attr.label=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab" on cluster "cluster-1a23b4cdefg"
    Then the response has "data.total_key_count" equal to "1"
    And the response has "data.matched_keys[0].attributes.label" equal to "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    And the response has "data.matched_keys[0]."key-reference"" containing "0x"

  Scenario Outline: kmsuser's password may be <password> (<length> letters or digits)
    When I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg"
    And I run "user change-password --username kmsuser --role crypto-user --password <password>" on cluster "cluster-1a23b4cdefg"
    Then the response has "error_code" equal to "0"
    When I run "logout" on cluster "cluster-1a23b4cdefg"
    And I run "login --username kmsuser --role crypto-user --password <password>" on cluster "cluster-1a23b4cdefg"
    Then the response has "data.username" equal to "kmsuser"

    Examples:
      | password                         | length |
      | abc1234                          | 7      |
      | knownPass1                       | 10     |
      | Abcdefghijklmnopqrstuvwxyz123456 | 32     |

  Scenario Outline: kmsuser's password may not be <password> (<why>)
    When I disconnect the custom key store "ExampleKeyStore"
    And I run "login --username admin --role admin --password adminPassword1" on cluster "cluster-1a23b4cdefg"
    And I run "user change-password --username kmsuser --role crypto-user --password <password>" on cluster "cluster-1a23b4cdefg"
    Then the CloudHSM CLI reports an error containing "Invalid password"

    Examples:
      | password                          | why                 |
      | abc123                            | 6 characters        |
      | Abcdefghijklmnopqrstuvwxyz1234567 | 33 characters       |
      | knownPass1!                       | a special character |
      | known_Pass1                       | an underscore       |
