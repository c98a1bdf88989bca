@degraded
Feature: DEGRADED HSMs and clusters
  Mirrors scenarios/degraded-hsms.runbook block by block. CloudHSM's models
  list DEGRADED among the states of an HSM and of a cluster, but AWS documents
  neither its cause nor what KMS does with it. In hsmdrill a fault degrades an
  HSM: the HSM reads DEGRADED and is not used, and its ACTIVE cluster reads
  DEGRADED until no HSM is. KMS goes on through the cluster's active HSMs; with
  none left the store behaves as with no HSM at all (R2). docs/fidelity.md I56.

  @R2
  Scenario: a degraded HSM is not used; with every HSM degraded the store cannot serve; repair brings it back
    Given the world "../scenarios/worlds/example.yaml"

    When I encrypt "before" with "alias/app" as "before"
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    And I remember "Clusters[0].Hsms[0].HsmId" of the response as "hsmA"

    # One HSM degraded: the cluster reads DEGRADED, KMS uses the other HSM.
    When HSM "$hsmA" of cluster "cluster-1a23b4cdefg" is degraded
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Clusters[0].State" equal to "DEGRADED"
    And the response has "Clusters[0].Hsms[0].State" equal to "DEGRADED"
    And the response has "Clusters[0].Hsms[1].State" equal to "ACTIVE"
    And the ConnectionState of "ExampleKeyStore" is CONNECTED
    When I encrypt "during" with "alias/app"
    Then it succeeds
    And "$before" decrypts to "before"
    # A new key needs two active HSMs in different Availability Zones.
    When I call CreateKey with:
      | Origin           | AWS_CLOUDHSM     |
      | CustomKeyStoreId | $ExampleKeyStore |
    Then it fails with CloudHsmClusterInvalidConfigurationException

    # Every HSM degraded: crypto cannot reach an HSM, and a reconnect fails.
    When every HSM of cluster "cluster-1a23b4cdefg" is degraded
    And I encrypt "x" with "alias/app"
    Then it fails with KMSInvalidStateException "KMS cannot communicate with your CloudHSM cluster"
    When I disconnect the custom key store "ExampleKeyStore"
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is FAILED
    And the ConnectionErrorCode of "ExampleKeyStore" is INSUFFICIENT_CLOUDHSM_HSMS

    # The repair: the HSMs are ACTIVE again, so is the cluster; reconnect.
    When every HSM of cluster "cluster-1a23b4cdefg" is repaired
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Clusters[0].State" equal to "ACTIVE"
    And the response has "Clusters[0].Hsms[0].State" equal to "ACTIVE"
    When I disconnect the custom key store "ExampleKeyStore"
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    And "$before" decrypts to "before"
    When I call CreateKey with:
      | Origin           | AWS_CLOUDHSM     |
      | CustomKeyStoreId | $ExampleKeyStore |
    Then it succeeds

  Scenario: a store connects to a DEGRADED cluster through its active HSM; deleting the degraded HSM makes the cluster ACTIVE
    Given the world "../scenarios/worlds/example.yaml"

    When I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    And I remember "Clusters[0].Hsms[0].HsmId" of the response as "hsmA"
    And HSM "$hsmA" of cluster "cluster-1a23b4cdefg" is degraded
    And I disconnect the custom key store "ExampleKeyStore"
    And I connect the custom key store "ExampleKeyStore"
    And the connection attempt completes
    Then the ConnectionState of "ExampleKeyStore" is CONNECTED
    When I encrypt "x" with "alias/app"
    Then it succeeds

    # Only an ACTIVE HSM degrades, only a DEGRADED one is repaired.
    When HSM "$hsmA" of cluster "cluster-1a23b4cdefg" is repaired
    And HSM "$hsmA" of cluster "cluster-1a23b4cdefg" is repaired
    And HSM "hsm-000000000ab" of cluster "cluster-1a23b4cdefg" is degraded
    Then it fails with CloudHsmResourceNotFoundException

    When HSM "$hsmA" of cluster "cluster-1a23b4cdefg" is degraded
    And I call DeleteHsm with:
      | ClusterId | cluster-1a23b4cdefg |
      | HsmId     | $hsmA               |
    And pending work settles
    And I call DescribeClusters with:
      """
      Filters: { clusterIds: [cluster-1a23b4cdefg] }
      """
    Then the response has "Clusters[0].State" equal to "ACTIVE"
    And the response has "Clusters[0].Hsms[0].State" equal to "ACTIVE"
